const started = performance.now();

/** A line as logrus's text formatter writes it on a terminal (`INFO[0001] message`), on stderr as ctr's and dist's logs go. */
export function logInfo(message: string): void {
  const seconds = Math.floor((performance.now() - started) / 1000);
  process.stderr.write(`INFO[${String(seconds).padStart(4, "0")}] ${message}\n`);
}
