// The one place where ttrpc statuses meet error kinds, with the same table as gRPC.
import { type BerthError, errorOfKind, grpcCodeOfKind, kindOf, kindOfGrpcCode } from "@berth/api";
import type * as google_rpc from "@berth/api/gen/google/rpc/status";

type Status = google_rpc.Status;

/** The status a server sends for a thrown value: its kind's code, its message with containerd's errdefs suffix. */
export function statusOfError(error: unknown): Status {
  const kind = kindOf(error);
  const message = errorOfKind(kind, error instanceof Error ? error.message : String(error)).message;
  return { code: grpcCodeOfKind(kind), message, details: [] };
}

/** The BerthError for a status a server sent; undefined when it is OK. */
export function errorOfTtrpcStatus(status: Status | undefined): BerthError | undefined {
  if (status === undefined || status.code === 0) return undefined;
  return errorOfKind(kindOfGrpcCode(status.code), status.message);
}
