/** A measured number, or a short word saying why there is none ("timeout", "failed", "n/a"). */
export type Outcome<T = number> = T | string;

/** Thrown by `withTimeout`, so that a hung benchmark shows as "timeout" rather than hanging the run. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * `promise`, or a TimeoutError after `ms` naming `what` (a function to describe the progress made
 * so far); `onTimeout` may cancel whatever is still running.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string | (() => string), onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new TimeoutError(`${typeof what === "string" ? what : what()} did not finish within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("mean of no values");
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** The nearest-rank percentile `p` (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  if (value === undefined) throw new RangeError("percentile of no values");
  return value;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** How long `action` takes, in milliseconds. */
export async function timeMs(action: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}

/** Runs `fn` and turns a failure into an outcome word, reporting the error on stderr. */
export async function attempt<T>(label: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return await fn();
  } catch (error) {
    console.error(`bench: ${label}: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof TimeoutError ? "timeout" : "failed";
  }
}
