/** Bytes per writer.write call (one round trip to the daemon, pipelined in 1 MiB messages), not the registry's small chunks. */
const batchBytes = 4 << 20;

/** Joins small chunks into batches of about `size` bytes. */
export async function* batched(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size = batchBytes): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of source) {
    pending.push(chunk);
    length += chunk.byteLength;
    if (length >= size) {
      yield pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = [];
      length = 0;
    }
  }
  if (length > 0) yield pending.length === 1 ? pending[0]! : Buffer.concat(pending);
}

/**
 * Reads `source` ahead, up to `limit` bytes, while the consumer is busy: the registry download and
 * the writes to the daemon overlap instead of taking turns. Errors surface after the chunks before them.
 */
export async function* readAhead(source: AsyncIterable<Uint8Array>, limit = 8 << 20): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const queue: Uint8Array[] = [];
  let queued = 0;
  let finished = false;
  let failure: { error: unknown } | undefined;
  let pumping = false;
  let notify: (() => void) | undefined;
  const wake = () => {
    notify?.();
    notify = undefined;
  };
  const pump = async () => {
    pumping = true;
    try {
      while (!finished && queued < limit) {
        const next = await iterator.next();
        if (next.done) finished = true;
        else {
          queue.push(next.value);
          queued += next.value.byteLength;
        }
        wake();
      }
    } catch (error) {
      failure = { error };
      finished = true;
    } finally {
      pumping = false;
      wake();
    }
  };
  try {
    for (;;) {
      if (!pumping && !finished && queued < limit) void pump();
      const chunk = queue.shift();
      if (chunk !== undefined) {
        queued -= chunk.byteLength;
        yield chunk;
        continue;
      }
      if (finished) {
        if (failure !== undefined) throw failure.error;
        return;
      }
      await new Promise<void>((resolve) => (notify = resolve));
    }
  } finally {
    // A consumer that stops early stops the download too (not awaited: a stalled read would hang it).
    if (!finished) void iterator.return?.(undefined)?.catch(() => undefined);
  }
}
