/**
 * Error kinds: what went wrong, independent of transport. Every Berth subsystem throws
 * `BerthError`s of these kinds; the one mapping to gRPC/ttrpc status codes is `grpcCodeOfKind`
 * and its inverse `kindOfGrpcCode`, applied once on the server and once in the client.
 */
export type ErrorKind =
  | "InvalidArgument"
  | "NotFound"
  | "AlreadyExists"
  | "FailedPrecondition"
  | "Unavailable"
  | "NotImplemented"
  | "OutOfRange"
  | "ResourceExhausted"
  | "DataLoss"
  | "Canceled"
  | "DeadlineExceeded"
  | "Internal"
  | "Unknown";

/** gRPC status codes by number (google.rpc.Code), so that this table needs no transport import. */
const grpcCodes = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
} as const;

const codeByKind: { readonly [K in ErrorKind]: number } = {
  InvalidArgument: grpcCodes.INVALID_ARGUMENT,
  NotFound: grpcCodes.NOT_FOUND,
  AlreadyExists: grpcCodes.ALREADY_EXISTS,
  FailedPrecondition: grpcCodes.FAILED_PRECONDITION,
  Unavailable: grpcCodes.UNAVAILABLE,
  NotImplemented: grpcCodes.UNIMPLEMENTED,
  OutOfRange: grpcCodes.OUT_OF_RANGE,
  ResourceExhausted: grpcCodes.RESOURCE_EXHAUSTED,
  DataLoss: grpcCodes.DATA_LOSS,
  Canceled: grpcCodes.CANCELLED,
  DeadlineExceeded: grpcCodes.DEADLINE_EXCEEDED,
  Internal: grpcCodes.INTERNAL,
  Unknown: grpcCodes.UNKNOWN,
};

const kindByCode = new Map<number, ErrorKind>(Object.entries(codeByKind).map(([kind, code]) => [code, kind as ErrorKind]));

/** containerd's errdefs texts, appended to messages as ": <text>" the way Go's error wrapping does. */
const errdefsText: { readonly [K in ErrorKind]: string } = {
  InvalidArgument: "invalid argument",
  NotFound: "not found",
  AlreadyExists: "already exists",
  FailedPrecondition: "failed precondition",
  Unavailable: "unavailable",
  NotImplemented: "not implemented",
  OutOfRange: "out of range",
  ResourceExhausted: "resource exhausted",
  DataLoss: "data loss",
  Canceled: "context canceled",
  DeadlineExceeded: "context deadline exceeded",
  Internal: "internal",
  // Go errors outside errdefs carry no class text.
  Unknown: "",
};

export class BerthError extends Error {
  override readonly name = "BerthError";
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A BerthError whose message ends in containerd's errdefs suffix, e.g. `namespace "x": not found`. */
export function errorOfKind(kind: ErrorKind, message: string, options?: { cause?: unknown }): BerthError {
  const suffix = errdefsText[kind] === "" ? "" : `: ${errdefsText[kind]}`;
  return new BerthError(kind, message.endsWith(suffix) ? message : message + suffix, options);
}

export const invalidArgument = (message: string): BerthError => errorOfKind("InvalidArgument", message);
export const notFound = (message: string): BerthError => errorOfKind("NotFound", message);
export const alreadyExists = (message: string): BerthError => errorOfKind("AlreadyExists", message);
export const failedPrecondition = (message: string): BerthError => errorOfKind("FailedPrecondition", message);
export const unavailable = (message: string): BerthError => errorOfKind("Unavailable", message);
export const notImplemented = (message: string): BerthError => errorOfKind("NotImplemented", message);
export const outOfRange = (message: string): BerthError => errorOfKind("OutOfRange", message);

/** The kind of any thrown value: a BerthError's own, a `kind` property that names one, else Unknown. */
export function kindOf(error: unknown): ErrorKind {
  if (error instanceof BerthError) return error.kind;
  const kind = (error as { kind?: unknown } | null)?.kind;
  return typeof kind === "string" && kind in codeByKind ? (kind as ErrorKind) : "Unknown";
}

export function isKind(error: unknown, kind: ErrorKind): boolean {
  return kindOf(error) === kind;
}

/** The kind `action` fails with, or "none" when it succeeds: for tests, which check kinds, never message text. */
export async function kindOfFailure(action: () => Promise<unknown>): Promise<ErrorKind | "none"> {
  try {
    await action();
    return "none";
  } catch (error) {
    return kindOf(error);
  }
}

export function grpcCodeOfKind(kind: ErrorKind): number {
  return codeByKind[kind];
}

export function kindOfGrpcCode(code: number): ErrorKind {
  return kindByCode.get(code) ?? "Unknown";
}
