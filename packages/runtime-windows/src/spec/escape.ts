/**
 * Windows command-line quoting as Go's `syscall.EscapeArg` (which containerd uses to build a
 * `commandLine`): an argument with a space or tab is wrapped in quotes, a quote gets a backslash,
 * and backslashes are doubled only where they precede a quote (or the closing quote). An empty
 * argument is `""`.
 */
export function escapeArg(arg: string): string {
  if (arg === "") return '""';
  const quoted = /[ \t]/.test(arg);
  if (!quoted && !/["\\]/.test(arg)) return arg;
  let out = quoted ? '"' : "";
  let slashes = 0;
  for (const char of arg) {
    if (char === "\\") {
      slashes += 1;
      out += char;
    } else if (char === '"') {
      out += "\\".repeat(slashes) + '\\"';
      slashes = 0;
    } else {
      slashes = 0;
      out += char;
    }
  }
  if (quoted) out += "\\".repeat(slashes) + '"';
  return out;
}

/** Each argument escaped, joined by single spaces (containerd's escapeAndCombineArgs on Windows). */
export const escapeAndCombineArgs = (args: readonly string[]): string => args.map(escapeArg).join(" ");
