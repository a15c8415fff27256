import { constants } from "node:os";
import { check, lastError } from "./errors.js";
import { errno, libc } from "./libc.js";

/** mkfifo(3). Throws a SyscallError (code "EEXIST" when `path` exists). */
export function mkfifo(path: string, mode = 0o700): void {
  check(libc().mkfifo(path, mode), "mkfifo", path);
}

/** mknod(2); `mode` includes the file type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
export function mknod(path: string, mode: number, dev: bigint | number = 0): void {
  check(libc().mknod(path, mode, dev), "mknod", path);
}

/** Sets an extended attribute of `path` itself (not of what a final symlink names). */
export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const buffer = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  check(libc().lsetxattr(path, name, buffer, buffer.byteLength, 0), "lsetxattr", path);
}

/** All extended attributes of `path` (not following a final symlink), by name; none where unsupported. */
export function lgetxattrs(path: string): Map<string, Buffer> {
  const result = new Map<string, Buffer>();
  for (const name of llistxattr(path)) {
    const value = lgetxattr(path, name);
    if (value !== undefined) result.set(name, value);
  }
  return result;
}

/** The names of `path`'s extended attributes (not following a final symlink); none where unsupported. */
export function llistxattr(path: string): string[] {
  // Size, then fetch; again if the list grew in between (ERANGE).
  for (;;) {
    const size = Number(libc().llistxattr(path, null, 0));
    if (size < 0) {
      if (errno() === constants.errno.ENOTSUP) return [];
      throw lastError("llistxattr", path);
    }
    if (size === 0) return [];
    const buffer = Buffer.alloc(size);
    const length = Number(libc().llistxattr(path, buffer, size));
    if (length < 0) {
      if (errno() === constants.errno.ERANGE) continue;
      throw lastError("llistxattr", path);
    }
    return buffer
      .subarray(0, length)
      .toString("latin1")
      .split("\0")
      .filter((name) => name !== "")
      .map((name) => Buffer.from(name, "latin1").toString("utf8"));
  }
}

/** One extended attribute of `path` (not following a final symlink); undefined when it has none of that name. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  for (;;) {
    const size = Number(libc().lgetxattr(path, name, null, 0));
    if (size < 0) {
      if (errno() === constants.errno.ENODATA) return undefined;
      throw lastError("lgetxattr", path);
    }
    const buffer = Buffer.alloc(size);
    if (size === 0) return buffer;
    const length = Number(libc().lgetxattr(path, name, buffer, size));
    if (length < 0) {
      if (errno() === constants.errno.ERANGE) continue;
      throw lastError("lgetxattr", path);
    }
    return buffer.subarray(0, length);
  }
}
