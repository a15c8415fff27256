import { closeSync, fstatSync, openSync, rmSync, statSync } from "node:fs";
import { lockExclusive } from "./libc.js";

// What `start` and the server share: the group lock and the server's word that it listens. Kept
// apart from start's other code, so that the server loads nothing only `start` needs (such as
// the socket path's hash).

/** The lock `start` holds while it looks for and launches a group's server, and a server while it exits. */
const lockPath = (socket: string): string => `${socket}.lock`;

/**
 * Locks the group of `socket` (`<socket>.lock`, made if need be): the descriptor, or undefined
 * when `wait` is false and someone holds it. Whoever holds the lock removes the file before letting
 * go (see releaseGroup), so a lock taken on a file no longer at the path guards nothing: it is
 * taken again on the file there now. Throws when the file cannot be opened.
 */
export function lockGroup(socket: string, wait = true): number | undefined {
  const path = lockPath(socket);
  for (;;) {
    const lock = openSync(path, "a", 0o600);
    if (!lockExclusive(lock, wait)) {
      closeSync(lock);
      return undefined;
    }
    const held = fstatSync(lock);
    const current = statSync(path, { throwIfNoEntry: false });
    if (current !== undefined && current.ino === held.ino && current.dev === held.dev) return lock;
    closeSync(lock);
  }
}

/** Removes the group's lock file, then lets go of it: no lock file outlives its holder. */
export function releaseGroup(socket: string, lock: number): void {
  try {
    rmSync(lockPath(socket), { force: true });
  } finally {
    closeSync(lock);
  }
}

/** What the server says on descriptor 3 once it listens. */
export const readyWord = "ready";
