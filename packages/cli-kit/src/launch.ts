/**
 * @berth/cli-kit/launch: how ctr and dist start. oclif reads every command's flags, args and help from
 * `oclif.manifest.json` (written at build time by `writeCommandManifest`), so help needs no
 * command class; running a command imports only the module that exports its class, which the
 * manifest names beside each command (`berthSource`). Without a manifest (a build that did not
 * write one), oclif loads every command through `src/commands.ts`, as before. A bundled package
 * (command-bundle.ts) names its bundle's commands directory, and each command loads from there.
 * Help printed once is kept and printed again without oclif (help-cache.ts). A command named on the
 * line runs with oclif told of that command alone (command-run.ts).
 */
import { readFileSync } from "node:fs";
import { enableCompileCache } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Command } from "@oclif/core/command";
import type { Plugin } from "@oclif/core/config";
import { type CommandPlacement, namedCommand, readPackageJson, runNamedCommand, runsCommandsAlone } from "./command-run.js";
import { hoistGlobalOptions } from "./global-options.js";
import { captureHelp, helpCacheEntry, isHelpRequest, mayAskForHelp, readHelp, writeHelp } from "./help-cache.js";

export type { CommandPlacement, NamedCommand } from "./command-run.js";
export { namedCommand } from "./command-run.js";

/** Where a command's class comes from: a module (relative to the package root, or a package specifier) and its export. */
export interface CommandSource {
  readonly module: string;
  readonly exportName: string;
}

/** The manifest key that holds a command's `CommandSource`. */
export const commandSourceKey = "berthSource";

/** The module path of command `id` in a bundle's commands directory (`content:prune:references` → `content/prune/references`). */
export function bundledCommandPath(id: string): string {
  return id.split(":").join("/");
}

function moduleUrl(root: string, module: string): string {
  return module.startsWith(".") ? pathToFileURL(join(root, module)).href : module;
}

type FindCommand = (this: Plugin, id: string, opts?: { must: boolean }) => Promise<Command.Class | undefined>;

/** The bundle's commands directory (a URL ending in `/`) of each plugin root that has one. */
const bundledCommands = new Map<string, string>();

/** Loads command `id` from a bundle's commands directory, where each command's module exports it as `command`. */
async function bundledCommand(directory: string, id: string): Promise<Command.Class> {
  const url = new URL(`${bundledCommandPath(id)}.js`, directory).href;
  const command = ((await import(url)) as { command?: Command.Class }).command;
  if (command === undefined) throw new Error(`${url} exports no command ${id}: rebuild the package`);
  return command;
}

/**
 * Makes oclif load a command of a plugin with a manifest from the one module named there (or from
 * its bundle). oclif's explicit strategy would import the whole command registry (and through it
 * every command, the gRPC client and the generated API) for any command.
 */
function loadCommandsFromTheirModules(plugin: typeof Plugin): void {
  const prototype = plugin.prototype as unknown as { findCommand: FindCommand; berthLazy?: true };
  if (prototype.berthLazy) return;
  const findCommand = prototype.findCommand;
  prototype.berthLazy = true;
  prototype.findCommand = async function (this: Plugin, id: string, opts?: { must: boolean }) {
    const cached = this.hasManifest ? (this.manifest.commands[id] as { [commandSourceKey]?: CommandSource } | undefined) : undefined;
    const bundle = cached === undefined ? undefined : bundledCommands.get(this.root);
    if (bundle !== undefined) {
      const command = await bundledCommand(bundle, id);
      command.id = id;
      command.plugin = this;
      return command;
    }
    const source = cached?.[commandSourceKey];
    if (source === undefined) return findCommand.call(this, id, opts);
    const module = (await import(moduleUrl(this.root, source.module))) as Record<string, Command.Class | undefined>;
    const command = module[source.exportName];
    if (command === undefined)
      throw new Error(`${source.module} exports no ${source.exportName} for command ${id}: rebuild the package to refresh oclif.manifest.json`);
    command.id = id;
    command.plugin = this;
    return command;
  };
}

/** What argv rewriting may know of a command without loading it: its aliases, flags and args, as the manifest holds them. */
export interface CommandSummary extends CommandPlacement {
  readonly flags?: Readonly<Record<string, { type: string; char?: string }>>;
}

/** Rewrites argv (global options already taken off) knowing every command by id. */
export type ArgvRewrite = (argv: readonly string[], commands: Readonly<Record<string, CommandSummary>>) => string[] | Promise<string[]>;

/**
 * Every command's summary: from the package's `oclif.manifest.json`, else (no manifest) from the
 * command classes of its registry, loaded for it.
 */
async function commandSummaries(root: string, manifest: Record<string, CommandSummary> | undefined): Promise<Record<string, CommandSummary>> {
  if (manifest !== undefined) return manifest;
  const { target, identifier } = readPackageJson(root).oclif.commands!;
  return ((await import(pathToFileURL(join(root, target)).href)) as Record<string, Record<string, CommandSummary>>)[identifier] ?? {};
}

/** Every command's summary from the package's `oclif.manifest.json`, if it has one. */
function manifestCommands(root: string): Record<string, CommandSummary> | undefined {
  try {
    return (JSON.parse(readFileSync(join(root, "oclif.manifest.json"), "utf8")) as { commands: Record<string, CommandSummary> }).commands;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return undefined;
  }
}

export interface LaunchOptions {
  /** The package's bundled commands directory (a URL ending in `/`, see command-bundle.ts), when it runs from its bundle. */
  readonly bundledCommands?: string;
}

/**
 * Runs the oclif CLI whose bin is `binUrl` (`import.meta.url`) with `argv`: ctr's global options
 * taken off the front, then `rewrite` (e.g. stock ctr's command names as Berth's ids), told every
 * command's aliases and flags from the manifest.
 */
export async function launch(binUrl: string, argv: readonly string[], rewrite?: ArgvRewrite, options: LaunchOptions = {}): Promise<void> {
  const hoisted = hoistGlobalOptions(argv);
  // Help asked for before prints as oclif printed it then, without loading oclif (see help-cache.ts).
  const helpEntry = mayAskForHelp(hoisted) ? helpCacheEntry(binUrl, hoisted) : undefined;
  const keptHelp = helpEntry === undefined ? undefined : readHelp(helpEntry);
  if (keptHelp !== undefined) {
    process.stdout.write(keptHelp);
    return;
  }
  // Cached bytecode roughly halves the start-up of every later run.
  enableCompileCache();
  const root = fileURLToPath(new URL("..", binUrl)).replace(/\/$/, "");
  const manifest = manifestCommands(root);
  const args = rewrite === undefined ? hoisted : await rewrite(hoisted, await commandSummaries(root, manifest));
  const { Plugin } = await import("@oclif/core/config");
  loadCommandsFromTheirModules(Plugin);
  if (options.bundledCommands !== undefined) bundledCommands.set(root, options.bundledCommands);
  // A plain command run: oclif told of that command alone (command-run.ts).
  const named = manifest === undefined || isHelpRequest(args) ? undefined : namedCommand(args, manifest);
  if (named !== undefined) {
    const pjson = readPackageJson(root);
    if (runsCommandsAlone(pjson)) {
      await runNamedCommand(root, pjson, named);
      return;
    }
  }
  const { execute } = await import("@oclif/core/execute");
  if (helpEntry === undefined || !isHelpRequest(args)) {
    await execute({ args, dir: binUrl });
    return;
  }
  const help = await captureHelp(async () => {
    await execute({ args, dir: binUrl });
  });
  if (help !== undefined) writeHelp(helpEntry, help);
}
