import { type Mount, invalidArgument } from "@berth/api";
import { MountError } from "./errors.js";
import { MNT_DETACH, mountSyscall, umount2Syscall } from "./libc.js";
import { mountFlags, parseMountOptions, propagationFlags } from "./options.js";

const { MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT, MS_SILENT } = mountFlags;

// mount(2) copies at most a page of data; containerd shortens lowerdir below this size.
const pageSize = 4096;

/**
 * Mounts each of `mounts` onto `target`, in order, the way containerd's `mount.All` does:
 * options that are MS_* flags (ro, rw, nosuid, bind, rbind, rprivate, …) become flags, the rest
 * is the filesystem's data (joined with ","); a read-only bind is remounted read-only, as the
 * kernel ignores MS_RDONLY on the bind itself; type "bind" binds even without a bind option.
 *
 * On failure nothing this call mounted stays mounted, and the error is a `MountError` naming the
 * mount's type, source, target and errno (InvalidArgument for EINVAL, else Internal).
 */
export async function mountAll(mounts: readonly Mount[], target: string): Promise<void> {
  let done = 0;
  try {
    for (const mount of mounts) {
      mountOne(mount, target);
      done += 1;
    }
  } catch (error) {
    for (; done > 0; done--) umount2Syscall(target, MNT_DETACH);
    throw error;
  }
}

function mountOne(mount: Mount, target: string): void {
  const parsed = parseMountOptions(mount.options);
  if (parsed.data.includes("loop")) throw invalidArgument(`mount ${mount.type} ${mount.source} on ${target}: loop devices are not supported`);
  let flags = parsed.flags;
  if (mount.type === "bind") flags |= MS_BIND;
  const what = `mount ${mount.type} ${mount.source} on ${target}`;
  // Propagation changes need a call of their own, without the other flags.
  const ownFlags = flags & ~propagationFlags;
  let mounted = false;
  try {
    // A plain remount without data only changes flags, which the last step does.
    if ((flags & MS_REMOUNT) === 0 || parsed.data.length > 0) {
      check(mountWithData(mount.source, target, mount.type, ownFlags, parsed.data), what);
      mounted = (flags & MS_REMOUNT) === 0;
    }
    if ((flags & propagationFlags) !== 0) {
      check(mountSyscall("", target, null, flags & (propagationFlags | MS_REC | MS_SILENT), null), `${what} (propagation)`);
    }
    if ((ownFlags & (MS_BIND | MS_RDONLY)) === (MS_BIND | MS_RDONLY)) {
      check(mountSyscall("", target, null, ownFlags | MS_REMOUNT, null), `${what} (read-only remount)`);
    }
  } catch (error) {
    if (mounted) umount2Syscall(target, MNT_DETACH);
    throw error;
  }
}

function check(errno: number, what: string): void {
  if (errno !== 0) throw new MountError(errno, what);
}

function mountWithData(source: string, target: string, type: string, flags: number, data: readonly string[]): number {
  const joined = data.join(",");
  if (type !== "overlay" || Buffer.byteLength(joined) < pageSize - 512) return mountSyscall(source, target, type, flags, joined);
  const compacted = compactLowerdir(data);
  if (compacted === undefined) return mountSyscall(source, target, type, flags, joined);
  // Relative lowerdirs resolve against the working directory of the mounting process.
  const previous = process.cwd();
  try {
    process.chdir(compacted.directory);
  } catch {
    return mountSyscall(source, target, type, flags, joined); // worker threads cannot chdir
  }
  try {
    return mountSyscall(source, target, type, flags, compacted.data.join(","));
  } finally {
    process.chdir(previous);
  }
}

/**
 * containerd's compactLowerdirOption: lowerdirs relative to their common directory, so that a
 * deep stack still fits in a page. Undefined when there is nothing to gain.
 */
export function compactLowerdir(data: readonly string[]): { directory: string; data: string[] } | undefined {
  const index = data.findIndex((option) => option.startsWith("lowerdir="));
  const option = data[index];
  if (option === undefined) return undefined;
  const dirs = option.slice("lowerdir=".length).split(":");
  const first = dirs[0];
  if (dirs.length < 2 || first === undefined) return undefined;
  let prefix = first;
  for (const dir of dirs) {
    let length = 0;
    while (length < prefix.length && length < dir.length && prefix[length] === dir[length]) length += 1;
    prefix = prefix.slice(0, length);
  }
  const directory = prefix.slice(0, prefix.lastIndexOf("/"));
  if (directory === "" || !dirs.every((dir) => dir.startsWith(`${directory}/`))) return undefined;
  const relative = dirs.map((dir) => dir.slice(directory.length + 1));
  const rest = data.filter((_, i) => i !== index);
  return { directory, data: [...rest, `lowerdir=${relative.join(":")}`] };
}
