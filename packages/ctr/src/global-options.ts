/** ctr's own argv rewrites after the global options are taken off: `pprof` and `shim` options moved after their subcommand. */
export function ctrOptionsAfterSubcommand(argv: readonly string[]): string[] {
  return [...pprofOptionsAfterSubcommand(moveShimOptions(argv))];
}

/** `ctr pprof -d <socket> heap`: stock ctr's pprof options come before the subcommand; oclif wants them after. */
function pprofOptionsAfterSubcommand(argv: readonly string[]): readonly string[] {
  if (argv[0] !== "pprof") return argv;
  let index = 1;
  while (index < argv.length && /^(-d|--debug-socket)(=|$)/.test(argv[index]!)) index += argv[index]!.includes("=") ? 1 : 2;
  if (index === 1 || index >= argv.length) return argv;
  return ["pprof", argv[index]!, ...argv.slice(1, index), ...argv.slice(index + 1)];
}

/** `ctr shim --id ID state`: oclif takes a topic's options only after its subcommand, so they move there. */
function moveShimOptions(argv: readonly string[]): readonly string[] {
  if (argv[0] !== "shim") return argv;
  let index = 1;
  while (argv[index] === "--id" && index + 1 < argv.length) index += 2;
  const options = argv.slice(1, index);
  if (options.length === 0 || index >= argv.length) return argv;
  return ["shim", argv[index]!, ...options, ...argv.slice(index + 1)];
}
