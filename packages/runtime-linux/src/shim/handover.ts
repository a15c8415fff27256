// What the daemon and a spare shim server (see spare-pool and spare) say to each other on the
// spare's descriptor 3, before it serves: kept apart, so that neither side loads the other's code.

/** The hidden action of a server started ahead of need, waiting to be told whom it serves. */
export const spareAction = "spare";

/** The descriptor a server says "ready" on (or why it failed), and a spare reads its handover from. */
export const handoverFd = 3;

/** A spare's orders, one JSON line: the arguments `serve` would have been started with, and its directory (the bundle). */
export interface Handover {
  readonly args: readonly string[];
  readonly cwd: string;
}

/**
 * The spare's last argument: room on its command line for the server's own arguments, which it
 * writes there once handed over, so that `ps` shows it as any other server (see spare).
 */
export const commandLineRoom = " ".repeat(1024);
