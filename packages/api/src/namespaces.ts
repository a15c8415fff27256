import type { CallContext } from "./context.js";

export interface Namespace {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Namespaces, as the daemon keeps them and as clients see them. A namespace exists once created
 * or once anything is written in it; reading one that does not exist gives no labels rather than
 * NotFound (containerd's behaviour).
 *
 * - `create`: InvalidArgument for a bad name or labels; AlreadyExists when it exists.
 * - `update`: with no `paths`, replaces the labels; otherwise every path must be `labels.<key>`
 *   (InvalidArgument, nothing changed) and sets that label, an empty value removing it.
 * - `delete`: NotFound when absent; FailedPrecondition while it still holds anything.
 * Mutations publish `/namespaces/create|update` in the caller's namespace (which they therefore
 * require: FailedPrecondition without it) and `/namespaces/delete` in the deleted namespace.
 */
export interface NamespaceStore {
  get(context: CallContext, name: string): Promise<Namespace>;
  list(context: CallContext): Promise<Namespace[]>;
  create(context: CallContext, namespace: Namespace): Promise<Namespace>;
  update(context: CallContext, namespace: Namespace, paths: readonly string[]): Promise<Namespace>;
  delete(context: CallContext, name: string): Promise<void>;
}
