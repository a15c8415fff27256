import koffi from "koffi";

interface Libc {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): number;
  umount2(target: string, flags: number): number;
}

let libc: Libc | undefined;

// Loaded on first use, so that importing this package costs nothing where no mount is made.
function load(): Libc {
  if (libc === undefined) {
    const library = koffi.load("libc.so.6");
    libc = {
      mount: library.func("int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)"),
      umount2: library.func("int umount2(const char *target, int flags)"),
    };
  }
  return libc;
}

/**
 * The result of a system call: 0, or the errno it failed with. The calls are synchronous so that
 * errno is read on the thread that set it, before anything else can run.
 */
export function mountSyscall(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): number {
  return load().mount(source, target, fstype, flags, data) === 0 ? 0 : koffi.errno();
}

export function umount2Syscall(target: string, flags: number): number {
  return load().umount2(target, flags) === 0 ? 0 : koffi.errno();
}

export const MNT_DETACH = 0x2;
