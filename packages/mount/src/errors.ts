import { constants } from "node:os";
import { BerthError, errorOfKind } from "@berth/api";
import { errnoName } from "@berth/libc";

export { errnoName };

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
