import { SyscallError, check, errno as lastErrno, libc as load, receiveDescriptor } from "@berth/libc";

// The system calls the shim needs and Node lacks, through @berth/libc. All calls are synchronous
// and never block (WNOHANG, MSG_DONTWAIT, non-blocking sockets), so errno is read on the thread
// that set it and the event loop never stalls.

export { SyscallError };

const PR_SET_CHILD_SUBREAPER = 36;

/** Orphaned descendants (container inits and execs, once runc exits) become our children. */
export function becomeChildSubreaper(): void {
  check(load().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)");
}

const PR_SET_PDEATHSIG = 1;

/** The signal this process gets when the thread that started it dies (0: none). */
export function setParentDeathSignal(signal: number): void {
  check(load().prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)");
}

const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const P_ALL = 0;
const ECHILD = 10;

/**
 * Reaps `pid` if it has exited: its wait status, `undefined` while it runs, or `null` when it
 * is not (or no longer) our child.
 */
export function reapIfExited(pid: number): number | undefined | null {
  const status = new Int32Array(1);
  const result = load().waitpid(pid, status, WNOHANG);
  if (result === pid) return status[0]!;
  if (result === 0) return undefined;
  const errno = lastErrno();
  if (errno === ECHILD) return null;
  throw new SyscallError("waitpid", errno);
}

/** The pid of some exited child, without reaping it (0 when none has exited). */
export function peekExitedChild(): number {
  const info = Buffer.alloc(128);
  const result = load().waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT);
  if (result < 0) return 0;
  // siginfo_t: si_pid sits at offset 16 on Linux x86_64 and arm64 alike.
  return info.readInt32LE(16);
}

/** A wait status as containerd reports it: the exit code, or 128 + the signal that killed it. */
export function exitStatusOf(waitStatus: number): number {
  const signal = waitStatus & 0x7f;
  return signal === 0 ? (waitStatus >> 8) & 0xff : 128 + signal;
}

const O_CLOEXEC = 0o2000000;

/** A pipe, both ends close-on-exec: [read, write]. */
export function makePipe(): [number, number] {
  const fds = new Int32Array(2);
  check(load().pipe2(fds, O_CLOEXEC), "pipe2");
  return [fds[0]!, fds[1]!];
}

const F_DUPFD_CLOEXEC = 1030;

/** A second, close-on-exec descriptor for the same open file. */
export function duplicateFd(fd: number): number {
  return check(load().fcntl(fd, F_DUPFD_CLOEXEC, 3), "fcntl(F_DUPFD_CLOEXEC)");
}

export function closeFd(fd: number): void {
  load().close(fd);
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = O_CLOEXEC;
const sunPathLength = 108;

/** A listening, non-blocking unix socket bound at `path` (which must not exist). */
export function listenUnix(path: string): number {
  const encoded = Buffer.from(path);
  if (encoded.byteLength >= sunPathLength) throw new SyscallError(`bind ${path}: path too long`, 36);
  const fd = check(load().socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket");
  const address = Buffer.alloc(2 + sunPathLength);
  address.writeUInt16LE(AF_UNIX, 0);
  encoded.copy(address, 2);
  try {
    check(load().bind(fd, address, address.byteLength), `bind ${path}`);
    check(load().listen(fd, 1), "listen");
  } catch (error) {
    closeFd(fd);
    throw error;
  }
  return fd;
}

const EAGAIN = 11;
/**
 * Accepts one pending connection on `listener` and receives the file descriptor its peer sent
 * with SCM_RIGHTS (runc's `--console-socket` protocol). Undefined when nothing is pending.
 */
export function acceptPassedFd(listener: number): number | undefined {
  const connection = load().accept4(listener, null, null, SOCK_CLOEXEC);
  if (connection < 0) {
    const errno = lastErrno();
    if (errno === EAGAIN) return undefined;
    throw new SyscallError("accept4", errno);
  }
  try {
    // runc has sent the descriptor before `runc create` returns, so nothing here waits.
    return receiveDescriptor(connection);
  } finally {
    closeFd(connection);
  }
}

const TIOCSWINSZ = 0x5414;

/** Sets a terminal's window size (rows × columns). */
export function setWindowSize(fd: number, width: number, height: number): void {
  const size = Buffer.alloc(8);
  size.writeUInt16LE(height, 0);
  size.writeUInt16LE(width, 2);
  check(load().ioctl(fd, TIOCSWINSZ, size), "ioctl(TIOCSWINSZ)");
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

/**
 * Takes an exclusive flock on `fd`. With `wait`, blocks until it is free (for short-lived command
 * processes only); without, returns false at once when another process holds it.
 */
export function lockExclusive(fd: number, wait = true): boolean {
  if (load().flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) === 0) return true;
  const errno = lastErrno();
  if (!wait && errno === EWOULDBLOCK) return false;
  throw new SyscallError("flock", errno);
}

const O_RDWR = 2;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
// glibc's posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336 and sigset_t 128 (x86_64, arm64): room to spare.
const opaqueBytes = 512;

/** A stdio descriptor for a spawned process: a descriptor of this process, or null for /dev/null. */
export type SpawnStdio = readonly [number | null, number | null, number | null];

/**
 * Starts `file` (searched on PATH, as execvp does) with `args` (argv[0] first) and `env`; its
 * descriptors 0–2 from `stdio`, the others as Node's spawn hands them on (only those without
 * close-on-exec; Node opens its own with it); every signal at its default (but glibc's own two,
 * which the child's libc takes over) and none blocked, as Node's spawn leaves a child.
 * Returns the pid; the caller reaps it. glibc's posix_spawn shares this process's memory until the
 * exec (vfork), where Node's spawn forks: the fork copies the shim's page tables and makes its
 * every write afterwards fault, some 1–2 ms of the shim's loop per runc call.
 */
export function spawnProcess(file: string, args: readonly string[], env: NodeJS.ProcessEnv, stdio: SpawnStdio): number {
  const actions = Buffer.alloc(opaqueBytes);
  const attributes = Buffer.alloc(opaqueBytes);
  const allSignals = Buffer.alloc(opaqueBytes);
  const noSignals = Buffer.alloc(opaqueBytes);
  const lib = load();
  const started = (result: number, call: string) => {
    if (result !== 0) throw new SyscallError(call, result);
  };
  started(lib.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
  try {
    started(lib.posix_spawnattr_init(attributes), "posix_spawnattr_init");
    try {
      stdio.forEach((fd, target) =>
        started(
          fd === null
            ? lib.posix_spawn_file_actions_addopen(actions, target, "/dev/null", O_RDWR, 0)
            : lib.posix_spawn_file_actions_adddup2(actions, fd, target),
          "posix_spawn_file_actions",
        ),
      );
      lib.sigfillset(allSignals);
      lib.sigemptyset(noSignals);
      started(lib.posix_spawnattr_setsigdefault(attributes, allSignals), "posix_spawnattr_setsigdefault");
      started(lib.posix_spawnattr_setsigmask(attributes, noSignals), "posix_spawnattr_setsigmask");
      started(lib.posix_spawnattr_setflags(attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), "posix_spawnattr_setflags");
      const envp = Object.entries(env).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`]));
      const pid = [0];
      started(lib.posix_spawnp(pid, file, actions, attributes, [...args, null], [...envp, null]), `spawn ${file}`);
      return pid[0]!;
    } finally {
      lib.posix_spawnattr_destroy(attributes);
    }
  } finally {
    lib.posix_spawn_file_actions_destroy(actions);
  }
}
