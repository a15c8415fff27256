import { MNT_DETACH, SyscallError, mount, umount2 } from "@berth/libc";

/** The errno a SyscallError carries; anything else is rethrown. */
function errnoOf(call: () => void): number {
  try {
    call();
    return 0;
  } catch (error) {
    if (error instanceof SyscallError) return error.errno;
    throw error;
  }
}

/** The result of a system call: 0, or the errno it failed with. */
export function mountSyscall(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): number {
  return errnoOf(() => mount(source, target, fstype, flags, data));
}

export function umount2Syscall(target: string, flags: number): number {
  return errnoOf(() => umount2(target, flags));
}

export { MNT_DETACH };
