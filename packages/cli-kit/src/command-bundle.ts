/**
 * @berth/cli-kit/command-bundle: bundles an oclif package (ctr, dist) for start-up. Node spends most
 * of a command's start resolving, reading and compiling some 370 modules one by one (oclif, grpc-js,
 * the generated API); esbuild gathers them into a few chunks. Each command is an entry of its own
 * (`bundle/commands/<id words>.js`, exporting `command`), so running one loads its chunk and the
 * chunks it shares with others, never another command's; `bundle/main.js` is the package's
 * `dist/main.js` (the launcher). One build, so oclif is one copy for the launcher and the commands.
 * Run by the package's build after `writeCommandManifest`; the sources in `dist/` stay the truth.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";
import { eagerCommonJsModules, editedSources } from "./bundle-edits.js";
import { type CommandSource, bundledCommandPath, commandSourceKey } from "./launch.js";

interface OclifPackage {
  readonly oclif: { readonly commands: { readonly target: string; readonly identifier: string } };
}

/**
 * Left out of the bundle, loaded from node_modules when needed: native addons (next to their
 * binaries); `@berth/api/known-types`, which requires its generated modules by relative path on
 * first use (events, tasks ps and metrics); and what oclif and grpc-js require only on paths a
 * CLI never takes (TypeScript sources in development, Yarn PnP, channelz/ORCA service definitions).
 */
const external = ["koffi", "lmdb", "msgpackr-extract", "@berth/api/known-types", "typescript", "ts-node", "pnpapi", "@grpc/proto-loader"];

/**
 * The file that defines `exportName` of `file`: a barrel's `export { Name } from "./x.js"` is
 * followed, so that a command's entry holds that command only (esbuild keeps every module a barrel
 * names when their classes' static initialisers may have effects).
 */
function definingFile(file: string, exportName: string): string {
  const source = readFileSync(file, "utf8");
  for (const [, names, from] of source.matchAll(/export\s*\{([^}]*)\}\s*from\s*"(\.[^"]+)"/g)) {
    if (names!.split(",").some((name) => name.trim() === exportName)) return definingFile(resolve(dirname(file), from!), exportName);
  }
  return file;
}

/** Where a command's class comes from, as an ES module body exporting it as `command`. */
function commandEntry(root: string, id: string, source: CommandSource | undefined, registry: { file: string; identifier: string }): string {
  if (source === undefined) {
    // A class the registry defines itself: loaded with the registry, as oclif would.
    return `import { ${registry.identifier} as registry } from ${JSON.stringify(registry.file)};\nexport const command = registry[${JSON.stringify(id)}];\n`;
  }
  const file = source.module.startsWith(".") ? resolve(root, source.module) : createRequire(join(root, "package.json")).resolve(source.module);
  return `export { ${source.exportName} as command } from ${JSON.stringify(definingFile(file, source.exportName))};\n`;
}

/** Whether Node loads `file` as CommonJS: `.cjs`, or `.js` in a package not of `"type": "module"`. */
function isCommonJs(file: string): boolean {
  if (file.endsWith(".cjs")) return true;
  if (!file.endsWith(".js")) return false;
  for (let directory = dirname(file); directory !== dirname(directory); directory = dirname(directory)) {
    let pjson: { type?: string };
    try {
      pjson = JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as { type?: string };
    } catch {
      continue;
    }
    return pjson.type !== "module";
  }
  return true;
}

/**
 * esbuild turns `await import("cjs-package")` into a chunk with a default export only, where Node
 * gives the CommonJS module's names too (`const { Agent } = await import("undici")`). Such an
 * import is pointed at a module re-exporting each name Node finds, as Node would.
 */
const commonJsDynamicImports = (root: string): Plugin => ({
  name: "berth-commonjs-dynamic-imports",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.kind !== "dynamic-import" || args.namespace === "berth-commonjs") return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, namespace: "berth-commonjs" });
      if (resolved.errors.length > 0 || resolved.external || !isCommonJs(resolved.path)) return undefined;
      // Named relative to the package, as esbuild names every other module in the bundle's comments.
      return { path: relative(root, resolved.path), namespace: "berth-commonjs", pluginData: resolved.path };
    });
    build.onLoad({ filter: /.*/, namespace: "berth-commonjs" }, async (args) => {
      const file = args.pluginData as string;
      const names = Object.keys((await import(pathToFileURL(file).href)) as object).filter(
        (name) => name !== "default" && name !== "__esModule" && /^[A-Za-z_$][\w$]*$/.test(name),
      );
      // `require`: module.exports itself, whatever its `__esModule` says, as Node's default export is.
      const contents = `const module = require(${JSON.stringify(file)});\nexport default module;\nexport const { ${names.join(", ")} } = module;\n`;
      return { contents, resolveDir: dirname(file), loader: "js" };
    });
  },
});

/** Bundles the package at `root` into `root/bundle` (see above); writes esbuild's metafile to `root/bundle.meta.json`. */
export async function bundleCommands(root: string = process.cwd()): Promise<string> {
  const { build, transform } = await import("esbuild");
  const outdir = join(root, "bundle");
  rmSync(outdir, { recursive: true, force: true });
  const pjson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as OclifPackage;
  const registry = { file: resolve(root, pjson.oclif.commands.target), identifier: pjson.oclif.commands.identifier };
  const manifest = JSON.parse(readFileSync(join(root, "oclif.manifest.json"), "utf8")) as {
    commands: Record<string, { [commandSourceKey]?: CommandSource }>;
  };
  const entries: Record<string, string> = {};
  const contents = new Map<string, string>();
  for (const [id, cached] of Object.entries(manifest.commands)) {
    entries[`commands/${bundledCommandPath(id)}`] = `berth-command:${id}`;
    contents.set(id, commandEntry(root, id, cached[commandSourceKey], registry));
  }
  entries.main = join(root, "dist", "main.js");
  const commandEntries: Plugin = {
    name: "berth-command-entries",
    setup(build) {
      build.onResolve({ filter: /^berth-command:/ }, (args) => ({ path: args.path.slice("berth-command:".length), namespace: "berth-command" }));
      build.onLoad({ filter: /.*/, namespace: "berth-command" }, (args) => ({ contents: contents.get(args.path)!, resolveDir: root, loader: "js" }));
    },
  };
  const result = await build({
    entryPoints: entries,
    outdir,
    // Modules are named relative to the package in the bundle's comments and its metafile.
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node24",
    external,
    // CommonJS dependencies (oclif, grpc-js) require Node's built-ins: give each chunk a `require`.
    banner: { js: 'import { createRequire as __berthCreateRequire } from "node:module";\nconst require = __berthCreateRequire(import.meta.url);' },
    plugins: [commandEntries, commonJsDynamicImports(root), editedSources],
    metafile: true,
    logLevel: "warning",
    write: false,
  });
  for (const output of result.outputFiles) {
    let text = output.text;
    if (output.path.endsWith(".js")) {
      if (text.includes("__commonJS({")) text = eagerCommonJsModules(text, output.path);
      // Without blanks and comments: every run reads, decodes and hashes each file it loads (names stay, and the parentheses above).
      text = (await transform(text, { format: "esm", loader: "js", minifyWhitespace: true, logLevel: "silent" })).code;
    }
    mkdirSync(dirname(output.path), { recursive: true });
    writeFileSync(output.path, text);
  }
  writeFileSync(join(root, "bundle.meta.json"), `${JSON.stringify(result.metafile)}\n`);
  return outdir;
}
