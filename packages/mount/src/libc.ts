import { errno, libc } from "@berth/libc";

/**
 * The result of a system call: 0, or the errno it failed with. The calls are synchronous so that
 * errno is read on the thread that set it, before anything else can run.
 */
export function mountSyscall(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): number {
  return libc().mount(source, target, fstype, flags, data) === 0 ? 0 : errno();
}

export function umount2Syscall(target: string, flags: number): number {
  return libc().umount2(target, flags) === 0 ? 0 : errno();
}

export const MNT_DETACH = 0x2;
