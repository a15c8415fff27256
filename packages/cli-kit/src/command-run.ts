/**
 * Running a command named on the command line as oclif's `execute` runs it (the same Config, hooks,
 * `runCommand`, flush and error handling), with oclif told of that one command: `execute` would load
 * every command of the manifest into its Config (each id's prefixes and aliases, twice, as
 * `Command.run` loads the Config again), load the help classes for its checks, and look for user and
 * dev plugins on disk. What is not a plain command run (help, `--version`, a topic, a command not
 * found, a package with hooks or plugins) goes through `execute`, as before.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** What the manifest says of a command that places it on the command line. */
export interface CommandPlacement {
  readonly aliases?: readonly string[];
  readonly hiddenAliases?: readonly string[];
  readonly args?: Readonly<Record<string, unknown>>;
  readonly strict?: boolean;
}

/** A command named on the command line: its id as typed (or an alias), the command it runs, and the words after its name. */
export interface NamedCommand {
  readonly id: string;
  readonly commandId: string;
  readonly argv: string[];
}

/**
 * The command `args` name, read as oclif reads a command id whose words are separated by spaces
 * (`collateSpacedCmdIDFromArgs` in oclif's help/util): words are taken while they extend a command
 * id or topic, and past that while the command so far takes no arguments and the word is no flag.
 * Undefined when that is not a command (a topic, a typo): oclif answers those itself.
 */
export function namedCommand(args: readonly string[], commands: Readonly<Record<string, CommandPlacement>>): NamedCommand | undefined {
  const owner = new Map<string, string>();
  for (const [id, command] of Object.entries(commands)) {
    owner.set(id, id);
    for (const alias of [...(command.aliases ?? []), ...(command.hiddenAliases ?? [])]) if (!owner.has(alias)) owner.set(alias, id);
  }
  if (args.length === 0) return undefined;
  // An id typed with colons, or a single word, is taken as it is.
  if (args.length === 1 || args[0]!.includes(":")) {
    const commandId = owner.get(args[0]!);
    return commandId === undefined ? undefined : { id: args[0]!, commandId, argv: args.slice(1) };
  }
  const usable = new Set<string>();
  for (const id of owner.keys()) {
    const parts = id.split(":");
    for (let i = 1; i <= parts.length; i++) usable.add(parts.slice(0, i).join(":"));
  }
  const idOf = (words: readonly string[]) => words.filter(Boolean).join(":");
  const takesArgs = (id: string) => {
    const command = owner.has(id) ? commands[owner.get(id)!] : undefined;
    return command !== undefined && (command.strict === false || Object.keys(command.args ?? {}).length > 0);
  };
  const words: string[] = [];
  for (const arg of args) {
    if (usable.has(idOf([...words, arg]))) words.push(arg);
    else if (arg.includes("=") || arg.startsWith("-") || (idOf(words) !== "" && takesArgs(idOf(words)))) break;
    else words.push(arg);
  }
  const id = idOf(words);
  if (id === "") return undefined;
  const commandId = owner.get(id);
  if (commandId === undefined) return undefined;
  return { id, commandId, argv: args.slice(id.split(":").length) };
}

export interface OclifPackageJson {
  readonly name: string;
  readonly oclif: {
    readonly hooks?: unknown;
    readonly plugins?: unknown;
    readonly devPlugins?: unknown;
    readonly additionalVersionFlags?: unknown;
    readonly topicSeparator?: string;
    /** Where the command classes are exported (oclif's "explicit" strategy). */
    readonly commands?: { readonly target: string; readonly identifier: string };
  };
}

/** The package.json of the oclif package at `root`. */
export function readPackageJson(root: string): OclifPackageJson {
  return JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as OclifPackageJson;
}

/**
 * Whether the package with package.json `pjson` runs a named command the same with oclif told of
 * that command only: no hooks (init and finally would run for `execute`), no plugins to find, no
 * extra version flags.
 */
export function runsCommandsAlone({ oclif }: OclifPackageJson): boolean {
  return (
    oclif.topicSeparator === " " &&
    oclif.hooks === undefined &&
    oclif.plugins === undefined &&
    oclif.devPlugins === undefined &&
    oclif.additionalVersionFlags === undefined
  );
}

/** Runs `command` of the oclif package at `root` (package.json `pjson`), as `execute` would (see above). */
export async function runNamedCommand(root: string, pjson: OclifPackageJson, command: NamedCommand): Promise<void> {
  const [{ Config, Plugin }, { flush }] = await Promise.all([import("@oclif/core/config"), import("@oclif/core/flush")]);
  try {
    const plugin = new Plugin({ root, isRoot: true, pjson: pjson as ConstructorParameters<typeof Plugin>[0]["pjson"] });
    await plugin.load();
    plugin.commands = plugin.commands.filter((loadable) => loadable.id === command.commandId);
    // With the plugin given, oclif neither reads the manifest again nor looks for other plugins.
    const config = await Config.load({ root, plugins: new Map([[plugin.name, plugin]]) });
    await config.runCommand(command.id, command.argv);
    await flush();
  } catch (error) {
    const { handle } = await import("@oclif/core/handle");
    await handle(error instanceof Error ? error : new Error(String(error)));
  }
}
