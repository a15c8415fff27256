import { constants } from "node:os";
import { errno } from "./libc.js";

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);

/** The symbolic name of an errno value, e.g. "EINVAL"; unknown values as "errno 1234". */
export function errnoName(value: number): string {
  return errnoNames.get(value) ?? `errno ${value}`;
}

/** A failed libc call, shaped like Node's own fs errors: `code` is the errno's name. */
export class SyscallError extends Error {
  readonly code: string;

  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly path?: string,
  ) {
    const code = errnoName(errno);
    super(`${syscall}${path === undefined ? "" : ` ${JSON.stringify(path)}`}: ${code}`);
    this.code = code;
  }
}

/** A SyscallError for the errno the failed call `syscall` just left. */
export function lastError(syscall: string, path?: string): SyscallError {
  return new SyscallError(syscall, errno(), path);
}

/** `result`, or a thrown SyscallError when it is negative (the call failed). */
export function check(result: number, syscall: string, path?: string): number {
  if (result < 0) throw lastError(syscall, path);
  return result;
}
