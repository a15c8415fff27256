import { constants } from "node:os";
import { BerthError, errorOfKind } from "@berth/api";

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** The symbolic name of an errno value, e.g. "EINVAL"; unknown values as "errno 1234". */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/**
 * A failed mount or unmount: a BerthError (InvalidArgument for EINVAL, which means the mount
 * itself is wrong; Internal otherwise) that also carries the errno, like Node's own fs errors.
 */
export class MountError extends BerthError {
  readonly errno: number;
  readonly code: string;

  constructor(errno: number, what: string) {
    const code = errnoName(errno);
    const kind = errno === constants.errno.EINVAL ? "InvalidArgument" : "Internal";
    super(kind, errorOfKind(kind, `${what}: ${code}`).message);
    this.errno = errno;
    this.code = code;
  }
}
