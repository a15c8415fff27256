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
