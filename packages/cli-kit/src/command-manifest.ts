/**
 * @berth/cli-kit/command-manifest: writes `oclif.manifest.json` for an oclif package whose commands are
 * registered in one module (oclif's explicit strategy, e.g. ctr's `src/commands.ts`): oclif's own
 * manifest of every command, plus, for each, the module that exports its class (see launch.ts), found
 * among the modules the registry imports. Run by the package's build after tsc.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Config, type Plugin } from "@oclif/core/config";
import { type CommandSource, commandSourceKey } from "./launch.js";

interface OclifPackage {
  readonly oclif: { readonly commands: { readonly target: string; readonly identifier: string } };
}

/** The module specifiers a compiled ES module imports from. */
function importedSpecifiers(source: string): string[] {
  return [...new Set([...source.matchAll(/\bfrom\s+"([^"]+)"/g)].map((match) => match[1]!))];
}

export async function writeCommandManifest(root: string = process.cwd()): Promise<string> {
  const manifestPath = join(root, "oclif.manifest.json");
  rmSync(manifestPath, { force: true });
  const pjson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as OclifPackage;
  const { target, identifier } = pjson.oclif.commands;
  const targetPath = resolve(root, target);

  const config = await Config.load({ root, ignoreManifest: true });
  const plugin = config.getPluginsList().find((candidate) => candidate.isRoot) as Plugin | undefined;
  if (plugin === undefined) throw new Error(`no oclif plugin at ${root}`);
  const manifest = plugin.manifest;

  // Each command's class, looked for among what the registry imports, then in the registry itself.
  const registry = ((await import(pathToFileURL(targetPath).href)) as Record<string, Record<string, unknown>>)[identifier] ?? {};
  const candidates: { module: string; url: string }[] = importedSpecifiers(readFileSync(targetPath, "utf8")).map((specifier) =>
    specifier.startsWith(".")
      ? { module: `./${relative(root, resolve(dirname(targetPath), specifier))}`, url: pathToFileURL(resolve(dirname(targetPath), specifier)).href }
      : { module: specifier, url: specifier },
  );
  candidates.push({ module: `./${relative(root, targetPath)}`, url: pathToFileURL(targetPath).href });
  const sources = new Map<unknown, CommandSource>();
  for (const { module, url } of candidates) {
    for (const [exportName, value] of Object.entries((await import(url)) as Record<string, unknown>)) {
      if (typeof value === "function" && !sources.has(value)) sources.set(value, { module, exportName });
    }
  }
  for (const [id, command] of Object.entries(registry)) {
    const cached = manifest.commands[id] as Record<string, unknown> | undefined;
    const source = sources.get(command);
    // A class the registry defines without exporting it loads with the whole registry, as oclif does.
    if (cached !== undefined && source !== undefined) cached[commandSourceKey] = source;
  }
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifestPath;
}
