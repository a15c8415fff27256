import { createRequire } from "node:module";
import type * as Koffi from "koffi";

// The project's only binding to libc. koffi (a native addon) is required on the first call, not
// on import, so that loading any Berth package maps no native code until a syscall is made.

/** The libc functions the project calls, as koffi binds them; failures return -1 and set errno. */
export interface Libc {
  mkfifo(path: string, mode: number): number;
  mknod(path: string, mode: number, dev: bigint | number): number;
  lsetxattr(path: string, name: string, value: Buffer, size: number, flags: number): number;
  lgetxattr(path: string, name: string, value: Buffer | null, size: number): number | bigint;
  llistxattr(path: string, list: Buffer | null, size: number): number | bigint;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): number;
  umount2(target: string, flags: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: number[]): number;
  prctl(option: number, a2: number, a3: number, a4: number, a5: number): number;
  waitpid(pid: number, status: Int32Array, options: number): number;
  waitid(idtype: number, id: number, info: Buffer, options: number): number;
  pipe2(fds: Int32Array, flags: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, address: Buffer, length: number): number;
  listen(fd: number, backlog: number): number;
  accept4(fd: number, address: null, length: null, flags: number): number;
  recvmsg(fd: number, message: unknown, flags: number): number;
  close(fd: number): number;
  fcntl(fd: number, command: number, argument: number): number;
  ioctl(fd: number, request: number, argument: Buffer): number;
  flock(fd: number, operation: number): number;
  malloc_trim(pad: number): number;
  /** Returns 0 or an errno (it sets no errno); `argv` and `envp` end with null. */
  posix_spawnp(pid: number[], file: string, fileActions: Buffer | null, attributes: Buffer | null, argv: (string | null)[], envp: (string | null)[]): number;
  posix_spawn_file_actions_init(actions: Buffer): number;
  posix_spawn_file_actions_destroy(actions: Buffer): number;
  posix_spawn_file_actions_adddup2(actions: Buffer, fd: number, newFd: number): number;
  posix_spawn_file_actions_addopen(actions: Buffer, fd: number, path: string, flags: number, mode: number): number;
  posix_spawnattr_init(attributes: Buffer): number;
  posix_spawnattr_destroy(attributes: Buffer): number;
  posix_spawnattr_setflags(attributes: Buffer, flags: number): number;
  posix_spawnattr_setsigdefault(attributes: Buffer, signals: Buffer): number;
  posix_spawnattr_setsigmask(attributes: Buffer, signals: Buffer): number;
  sigfillset(signals: Buffer): number;
  sigemptyset(signals: Buffer): number;
}

const prototypes: Record<keyof Libc, string> = {
  mkfifo: "int mkfifo(const char *path, uint32_t mode)",
  mknod: "int mknod(const char *path, uint32_t mode, uint64_t dev)",
  lsetxattr: "int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)",
  lgetxattr: "intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)",
  llistxattr: "intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)",
  mount: "int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)",
  umount2: "int umount2(const char *target, int flags)",
  getsockopt: "int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *length)",
  prctl: "int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)",
  waitpid: "int waitpid(int pid, _Out_ int *status, int options)",
  waitid: "int waitid(int idtype, uint32_t id, _Out_ void *info, int options)",
  pipe2: "int pipe2(_Out_ int *fds, int flags)",
  socket: "int socket(int domain, int type, int protocol)",
  bind: "int bind(int fd, const void *address, uint32_t length)",
  listen: "int listen(int fd, int backlog)",
  accept4: "int accept4(int fd, void *address, void *length, int flags)",
  recvmsg: "intptr_t recvmsg(int fd, void *message, int flags)",
  close: "int close(int fd)",
  fcntl: "int fcntl(int fd, int command, int argument)",
  ioctl: "int ioctl(int fd, unsigned long request, const void *argument)",
  flock: "int flock(int fd, int operation)",
  malloc_trim: "int malloc_trim(size_t pad)",
  posix_spawnp: "int posix_spawnp(_Out_ int *pid, const char *file, void *fileActions, void *attributes, const char **argv, const char **envp)",
  posix_spawn_file_actions_init: "int posix_spawn_file_actions_init(void *actions)",
  posix_spawn_file_actions_destroy: "int posix_spawn_file_actions_destroy(void *actions)",
  posix_spawn_file_actions_adddup2: "int posix_spawn_file_actions_adddup2(void *actions, int fd, int newFd)",
  posix_spawn_file_actions_addopen: "int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)",
  posix_spawnattr_init: "int posix_spawnattr_init(void *attributes)",
  posix_spawnattr_destroy: "int posix_spawnattr_destroy(void *attributes)",
  posix_spawnattr_setflags: "int posix_spawnattr_setflags(void *attributes, short flags)",
  posix_spawnattr_setsigdefault: "int posix_spawnattr_setsigdefault(void *attributes, const void *signals)",
  posix_spawnattr_setsigmask: "int posix_spawnattr_setsigmask(void *attributes, const void *signals)",
  sigfillset: "int sigfillset(void *signals)",
  sigemptyset: "int sigemptyset(void *signals)",
};

let koffiModule: typeof Koffi | undefined;
let bindings: Libc | undefined;

/** koffi itself, required on first use (for native memory; bind functions through `libc()`). */
export function koffi(): typeof Koffi {
  koffiModule ??= createRequire(import.meta.url)("koffi") as typeof Koffi;
  return koffiModule;
}

/** libc's functions, loaded and bound once, on the first call. Linux (glibc) only. */
export function libc(): Libc {
  if (bindings === undefined) {
    const library = koffi().load("libc.so.6");
    bindings = Object.fromEntries(Object.entries(prototypes).map(([name, prototype]) => [name, library.func(prototype)])) as unknown as Libc;
  }
  return bindings;
}

/**
 * errno as the last call on this thread left it. Every binding is synchronous, so reading it
 * right after a failed call, before anything else runs, gives that call's errno.
 */
export function errno(): number {
  return koffi().errno();
}
