import { randomBytes } from "node:crypto";
import { closeSync, fsync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";

/*
 * Metadata calls (open, stat, rename, link, unlink, mkdir, small reads and writes) are blocking
 * calls here: each costs microseconds, while a thread-pool round trip costs that plus a turn of a
 * busy main thread, and a commit makes a dozen of them in a row. Only fsync, which waits for the
 * disk, runs off the main thread.
 */

const fsyncAsync = promisify(fsync);

export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export const isNotFound = (error: unknown): boolean => errnoCode(error) === "ENOENT";

/** A name no other writer will pick, for temp files and directories being removed. */
export function uniqueSuffix(): string {
  return `${process.pid}.${randomBytes(6).toString("hex")}`;
}

/** Flushes an open file (or directory) to disk, off the main thread. */
export async function syncFd(fd: number): Promise<void> {
  await fsyncAsync(fd);
}

/** Makes a directory's entries (a rename, a new link) durable. */
export async function fsyncDir(path: string): Promise<void> {
  const fd = openSync(path, "r");
  try {
    await syncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** A whole file written and synced under a temp name beside `path`, waiting to be renamed into place. */
export interface StagedFile {
  readonly path: string;
  readonly temp: string;
}

/** Writes `data` to a temp file beside `path` and syncs it; `placeStaged` or `discardStaged` ends it. */
export async function stageFile(path: string, data: string | Uint8Array, mode = 0o644): Promise<StagedFile> {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${uniqueSuffix()}.tmp`);
  try {
    const fd = openSync(temp, "wx", mode);
    try {
      writeFileSync(fd, data);
      await syncFd(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return { path, temp };
}

/** Renames a staged file into place: readers see the old or the new content, never a mix. */
export function placeStaged(staged: StagedFile): void {
  try {
    renameSync(staged.temp, staged.path);
  } catch (error) {
    discardStaged(staged);
    throw error;
  }
}

export function discardStaged(staged: StagedFile): void {
  rmSync(staged.temp, { force: true });
}

/** Writes a whole file so that readers see the old or the new content, never a mix. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  placeStaged(await stageFile(path, data, mode));
}

/** Reads a small text file; undefined when it does not exist. */
export function readOptionalText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Removes a directory tree atomically as far as other readers go: it is first renamed aside
 * (names that are not 64 hex digits are skipped by listings), then deleted.
 */
export function removeDirAtomic(path: string): void {
  const aside = join(dirname(path), `.${basename(path)}.${uniqueSuffix()}.removing`);
  try {
    renameSync(path, aside);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  rmSync(aside, { recursive: true, force: true });
}
