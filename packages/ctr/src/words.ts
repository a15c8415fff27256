/** Every spelling of a command (`namespaces ls`, `ns list`, …) but its id, as oclif aliases: the id is the first pair, so name the primary topic and command (stock ctr's first name) first. */
export function aliases(topicNames: readonly string[], commandNames: readonly string[]): string[] {
  const all = topicNames.flatMap((topic) => commandNames.map((command) => `${topic}:${command}`));
  return all.slice(1);
}

/** `key=value` arguments as labels; a bare key means an empty value, as in ctr. */
export function parseLabels(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals === -1) labels[pair] = "";
    else labels[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return labels;
}

/**
 * argv with `--` put after the first `positionals` arguments, so that what follows (a command
 * line: `sh -c 'exit 3'`) is taken as arguments rather than parsed as ctr's flags. `flags` are the
 * command's flag definitions, to know which take a value.
 */
export function commandLineAfter(argv: readonly string[], positionals: number, flags: Readonly<Record<string, { type: string; char?: string }>>): string[] {
  const takesValue = flagsTakingValue(flags);
  let seen = 0;
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    if (argument === "--") return [...argv];
    if (argument.startsWith("-") && argument !== "-") {
      if (takesValue.has(argument)) i++;
      continue;
    }
    if (++seen === positionals) return [...argv.slice(0, i + 1), "--", ...argv.slice(i + 1)];
  }
  return [...argv];
}

/** The spellings (`--name`, `-c`) of the flags among `flags` that take a value. */
export function flagsTakingValue(flags: Readonly<Record<string, { type: string; char?: string }>>): Set<string> {
  const takesValue = new Set<string>();
  for (const [name, flag] of Object.entries(flags)) {
    if (flag.type !== "option") continue;
    takesValue.add(`--${name}`);
    if (flag.char) takesValue.add(`-${flag.char}`);
  }
  return takesValue;
}

/** go-digest's Parse as ctr uses it: `algorithm:encoded`, else ctr's "invalid checksum digest format". */
export function parseDigest(text: string | undefined): string {
  if (text === undefined || !/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(text)) throw new Error("invalid checksum digest format");
  return text;
}
