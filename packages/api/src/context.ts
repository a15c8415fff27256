import { failedPrecondition } from "./errors.js";
import { validateIdentifier } from "./identifiers.js";

/**
 * What a service learns about a call besides its request: the namespace and lease named in the
 * call's metadata, and a signal that aborts when the caller goes away. Transport-neutral, so that
 * local implementations take it as well as the gRPC and ttrpc adapters.
 */
export interface CallContext {
  readonly namespace?: string | undefined;
  readonly lease?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The call's namespace, checked; a missing one is FailedPrecondition as in containerd. */
export function requireNamespace(context: CallContext): string {
  const namespace = context.namespace;
  if (namespace === undefined || namespace === "") throw failedPrecondition("namespace is required");
  validateIdentifier(namespace, "namespace");
  return namespace;
}
