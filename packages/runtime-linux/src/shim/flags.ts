/** The shim's command line, as containerd passes it (Go `flag` syntax: `-name value`, `-name=value`, `--name`). */
export interface ShimFlags {
  readonly namespace: string;
  readonly address: string;
  readonly publishBinary: string;
  readonly id: string;
  readonly bundle: string;
  readonly debug: boolean;
  readonly version: boolean;
  /** The server's socket path (the hidden `serve` action only). */
  readonly socket: string;
  /** The cgroup the server joins before it serves (`serve` only; the runc options' `shim_cgroup`). */
  readonly shimCgroup: string;
  readonly action: string;
}

const valueFlags = new Map([
  ["namespace", "namespace"],
  ["address", "address"],
  ["publish-binary", "publishBinary"],
  ["id", "id"],
  ["bundle", "bundle"],
  ["socket", "socket"],
  ["shim-cgroup", "shimCgroup"],
] as const);
const booleanFlags = new Map([
  ["debug", "debug"],
  ["v", "version"],
] as const);

export function parseFlags(argv: readonly string[]): ShimFlags {
  const values: Record<string, string | boolean> = {};
  let index = 0;
  for (; index < argv.length; index++) {
    const arg = argv[index]!;
    if (!arg.startsWith("-") || arg === "-" || arg === "--") break;
    const [rawName, inline] = arg.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    const booleanKey = booleanFlags.get(rawName as never);
    if (booleanKey !== undefined) {
      values[booleanKey] = inline === undefined ? true : inline === "true" || inline === "1";
      continue;
    }
    const key = valueFlags.get(rawName as never);
    if (key === undefined) throw new Error(`flag provided but not defined: -${rawName}`);
    const value = inline ?? argv[++index];
    if (value === undefined) throw new Error(`flag needs an argument: -${rawName}`);
    values[key] = value;
  }
  if (argv[index] === "--") index++;
  const text = (key: string) => (typeof values[key] === "string" ? (values[key] as string) : "");
  return {
    namespace: text("namespace"),
    address: text("address"),
    publishBinary: text("publishBinary"),
    id: text("id"),
    bundle: text("bundle"),
    socket: text("socket"),
    shimCgroup: text("shimCgroup"),
    debug: values.debug === true,
    version: values.version === true,
    action: argv[index] ?? "",
  };
}

/** The flags again, for the server process `start` launches. */
export function serverArguments(flags: ShimFlags, socket: string, shimCgroup: string): string[] {
  const args = ["-namespace", flags.namespace, "-address", flags.address, "-publish-binary", flags.publishBinary, "-id", flags.id, "-socket", socket];
  if (shimCgroup !== "") args.push("-shim-cgroup", shimCgroup);
  if (flags.debug) args.push("-debug");
  return [...args, "serve"];
}
