/** containerd sends listings in messages of at most this many entries, well under the size limit. */
const batchSize = 100;

/** Groups a listing into containerd-sized batches. */
export async function* batches<T>(items: AsyncIterable<T>): AsyncIterable<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
