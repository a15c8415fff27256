/** Pull-based reading of exact byte counts from an async chunk stream, without copying bodies. */
export class ByteReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Buffers until `n` bytes are available or the source ends; tells whether `n` are there. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.ended) {
      const next = await this.it.next();
      if (next.done) this.ended = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
    return this.buffered >= n;
  }

  /** Up to `n` bytes taken off the front; fewer only at the end of the source. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const out: Buffer[] = [];
    let want = Math.min(n, this.buffered);
    const total = want;
    while (want > 0) {
      const piece = this.take(want);
      out.push(piece);
      want -= piece.length;
    }
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, total);
  }

  /** The next `n` bytes as they arrive, in pieces; stops early at the end of the source. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill(1))) return;
      const piece = this.take(left);
      left -= piece.length;
      yield piece;
    }
  }

  /** Discards `n` bytes; returns how many there were. */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    for await (const piece of this.stream(n)) skipped += piece.length;
    return skipped;
  }

  /** Reads the source to its end, discarding everything. */
  async drain(): Promise<void> {
    this.chunks.length = 0;
    this.buffered = 0;
    while (!this.ended) {
      const next = await this.it.next();
      if (next.done) this.ended = true;
    }
  }

  /** Stops the source early (e.g. on error), letting it release its resources. */
  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.();
    }
  }

  private take(max: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length <= max) {
      this.chunks.shift();
      this.buffered -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(max);
    this.buffered -= max;
    return first.subarray(0, max);
  }
}
