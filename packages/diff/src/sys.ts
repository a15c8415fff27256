/**
 * The few syscalls Node lacks (mknod, l*xattr), through koffi. Failures throw Node-style errors
 * (`code` = "ENOTSUP", …) so callers can treat them like fs errors.
 */
import { constants as osConstants } from "node:os";
import koffi from "koffi";

interface LibC {
  mknod(path: string, mode: number, dev: bigint): number;
  lsetxattr(path: string, name: string, value: Buffer, size: number, flags: number): number;
  lgetxattr(path: string, name: string, value: Buffer | null, size: number): number;
  llistxattr(path: string, list: Buffer | null, size: number): number;
}

let libc: LibC | undefined;

// Loaded on first use so that importing the package never touches native code.
function lib(): LibC {
  if (libc === undefined) {
    const handle = koffi.load("libc.so.6");
    libc = {
      mknod: handle.func("int mknod(const char *path, uint32_t mode, uint64_t dev)"),
      lsetxattr: handle.func("int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)"),
      lgetxattr: handle.func("intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)"),
      llistxattr: handle.func("intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)"),
    } as LibC;
  }
  return libc;
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

export interface SysError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path: string;
}

function fail(syscall: string, path: string): never {
  const errno = koffi.errno();
  const code = errnoNames.get(errno) ?? `E${errno}`;
  const error = new Error(`${code}: ${syscall} ${JSON.stringify(path)} failed`) as SysError;
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  error.path = path;
  throw error;
}

/** glibc's makedev: 12 bits of major and 20 of minor in the classic places, the rest above. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

export function major(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
}

export function minor(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
}

/** `mode` includes the file type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
export function mknod(path: string, mode: number, dev: bigint): void {
  if (lib().mknod(path, mode, dev) !== 0) fail("mknod", path);
}

export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (lib().lsetxattr(path, name, buf, buf.byteLength, 0) !== 0) fail("lsetxattr", path);
}

/** All extended attributes of `path` (not following a final symlink), by name. */
export function lgetxattrs(path: string): Map<string, Buffer> {
  const result = new Map<string, Buffer>();
  for (const name of llistxattr(path)) {
    const value = lgetxattr(path, name);
    if (value !== undefined) result.set(name, value);
  }
  return result;
}

function llistxattr(path: string): string[] {
  // Size, then fetch; retry if the list grew in between (ERANGE).
  for (;;) {
    const size = Number(lib().llistxattr(path, null, 0));
    if (size < 0) {
      if (koffi.errno() === osConstants.errno.ENOTSUP) return [];
      fail("llistxattr", path);
    }
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const n = Number(lib().llistxattr(path, buf, size));
    if (n < 0) {
      if (koffi.errno() === osConstants.errno.ERANGE) continue;
      fail("llistxattr", path);
    }
    return buf
      .subarray(0, n)
      .toString("latin1")
      .split("\0")
      .filter((name) => name !== "")
      .map((name) => Buffer.from(name, "latin1").toString("utf8"));
  }
}

function lgetxattr(path: string, name: string): Buffer | undefined {
  for (;;) {
    const size = Number(lib().lgetxattr(path, name, null, 0));
    if (size < 0) {
      // Removed between list and get.
      if (koffi.errno() === osConstants.errno.ENODATA) return undefined;
      fail("lgetxattr", path);
    }
    const buf = Buffer.alloc(size);
    if (size === 0) return buf;
    const n = Number(lib().lgetxattr(path, name, buf, size));
    if (n < 0) {
      if (koffi.errno() === osConstants.errno.ERANGE) continue;
      fail("lgetxattr", path);
    }
    return buf.subarray(0, n);
  }
}
