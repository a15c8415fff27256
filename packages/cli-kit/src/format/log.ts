// process.hrtime, not performance.now(): the first touch of `performance` loads perf_hooks (ten built-in modules) into every command that imports this.
const started = process.hrtime.bigint();

/** A line as logrus's text formatter writes it on a terminal (`INFO[0001] message`), on stderr as ctr's and dist's logs go. */
export function logInfo(message: string): void {
  const seconds = (process.hrtime.bigint() - started) / 1_000_000_000n;
  process.stderr.write(`INFO[${String(seconds).padStart(4, "0")}] ${message}\n`);
}
