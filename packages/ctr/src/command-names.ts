import { flagsTakingValue } from "./words.js";

/** The other names of stock ctr's command groups (`ctr c ls`, `ctr ns`, `ctr t`), by their primary name. */
const topicAliases: Readonly<Record<string, string>> = {
  c: "containers",
  container: "containers",
  event: "events",
  i: "images",
  image: "images",
  namespace: "namespaces",
  ns: "namespaces",
  plugin: "plugins",
  snapshot: "snapshots",
  t: "tasks",
  task: "tasks",
};

const helpWords = new Set(["help", "h"]);

interface CommandClass {
  readonly aliases?: readonly string[];
  readonly flags?: Readonly<Record<string, { type: string; char?: string }>>;
}

/**
 * argv with every name stock ctr takes spelled as Berth's primary command id, so that oclif finds
 * the command and its help reads as stock's (`ctr c rm` → `containers delete`): group aliases,
 * subcommand aliases (each command's oclif `aliases`), urfave/cli's `help`/`h` commands
 * (`ctr help c`, `ctr c h rm`), `-h` for `--help` before a command's arguments, and `-v` for
 * `--version`. Global options must already be taken off the front.
 */
export function canonicalArgv(argv: readonly string[], commands: Readonly<Record<string, CommandClass>>): string[] {
  if (argv[0] === "-v") return ["--version", ...argv.slice(1)];
  if (argv[0] === "-h") return ["--help", ...argv.slice(1)];
  if (argv[0] !== undefined && helpWords.has(argv[0])) return [...canonicalArgv(argv.slice(1), commands).filter((word) => word !== "--help"), "--help"];
  const words = [...argv];
  const isCommand = (id: string) => Object.hasOwn(commands, id);
  // `snapshot list` is a command of its own (the seed's format), not an alias of `snapshots list`.
  const first = words[0];
  if (first !== undefined && Object.hasOwn(topicAliases, first) && !isCommand(`${first}:${words[1]}`)) words[0] = topicAliases[first]!;
  const topics = new Set(Object.keys(commands).map((id) => id.split(":")[0]!));
  if (words[0] !== undefined && topics.has(words[0]) && !isCommand(words[0]) && words[1] !== undefined && helpWords.has(words[1])) {
    return [...canonicalArgv([words[0], ...words.slice(2)], commands).filter((word) => word !== "--help"), "--help"];
  }
  const id = resolveId(words, commands);
  if (id === undefined) return words.map((word, i) => (i === 1 && word === "-h" && topics.has(words[0]!) ? "--help" : word));
  const idWords = id.split(":");
  const rest = words.slice(idWords.length);
  return [...idWords, ...helpFlagBeforeArguments(rest, commands[id]!.flags ?? {})];
}

/** The id of the command `words` begin with, by its id or one of its aliases (longest first). */
function resolveId(words: readonly string[], commands: Readonly<Record<string, CommandClass>>): string | undefined {
  for (const length of [2, 1]) {
    if (words.length < length) continue;
    const candidate = words.slice(0, length).join(":");
    if (Object.hasOwn(commands, candidate)) return candidate;
    for (const [id, command] of Object.entries(commands)) if (command.aliases?.includes(candidate)) return id;
  }
  return undefined;
}

/** `-h` as `--help` while it stands among the command's flags, before its first argument. */
function helpFlagBeforeArguments(rest: readonly string[], flags: Readonly<Record<string, { type: string; char?: string }>>): string[] {
  const takesValue = flagsTakingValue(flags);
  const out = [...rest];
  for (let i = 0; i < out.length; i++) {
    const word = out[i]!;
    if (word === "--" || !word.startsWith("-")) break;
    if (word === "-h" && !takesValue.has("-h")) out[i] = "--help";
    else if (takesValue.has(word)) i++;
  }
  return out;
}
