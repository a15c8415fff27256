/** Thrown by a plugin's init when it cannot run on this host; containerd's text (`<reason>: skip plugin`) marks it skipped. */
export class SkipPlugin extends Error {
  override readonly name = "SkipPlugin";

  constructor(readonly reason: string) {
    super(`${reason}: skip plugin`);
  }
}

/**
 * Whether `error` is a plugin skipping itself: a `SkipPlugin`, an error caused by one (a
 * `PluginNotFoundError` for a plugin that skipped itself: as in containerd, what needs a skipped
 * plugin skips too), or any error with containerd's `skip plugin` text (from another copy of this package).
 */
export function isSkipPlugin(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof SkipPlugin || cause.message.endsWith("skip plugin")) return true;
  }
  return false;
}

/** `get` found no loaded plugin of the type (and id) asked for. */
export class PluginNotFoundError extends Error {
  override readonly name = "PluginNotFoundError";
  /** Berth's error kind (as `@berth/api`'s `kindOf` reads it): containerd's `errdefs.ErrNotFound`. */
  readonly kind = "NotFound" as const;

  constructor(
    readonly type: string,
    readonly id: string | undefined,
    /** Why the registered plugin of that name did not load, when one did not. */
    readonly reason?: Error,
  ) {
    const name = id === undefined ? type : `${type}.${id}`;
    super(`no plugin ${name} is loaded${reason === undefined ? "" : `: ${reason.message}`}`, reason === undefined ? undefined : { cause: reason });
  }
}

/** The plugins' `requires` form a cycle; `path` is the cycle, as `<type>.<id>` keys. */
export class PluginCycleError extends Error {
  override readonly name = "PluginCycleError";
  /** Berth's error kind: the set of plugins cannot be loaded as it is. */
  readonly kind = "FailedPrecondition" as const;

  constructor(readonly path: readonly string[]) {
    super(`plugin dependency cycle: ${path.join(" -> ")}`);
  }
}
