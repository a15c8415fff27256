import {
  type CallContext,
  type ContentInfo,
  type ContentStore,
  type ContentWriter,
  type IngestStatus,
  type WriterOptions,
  goZeroTime,
  invalidArgument,
  notImplemented,
  outOfRange,
} from "@berth/api";
import * as contentV1 from "@berth/api/gen/containerd/services/content/v1/content";
import type { BidiCall, ServiceClient } from "@berth/api/services";

const chunkSize = 1 << 20;

function infoOf(info: contentV1.Info | undefined): ContentInfo {
  if (info === undefined) throw invalidArgument("daemon sent no info");
  return { digest: info.digest, size: info.size, createdAt: info.createdAt ?? goZeroTime, updatedAt: info.updatedAt ?? goZeroTime, labels: info.labels };
}

function statusOf(status: contentV1.Status | undefined): IngestStatus {
  if (status === undefined) throw invalidArgument("daemon sent no status");
  return { ...status, startedAt: status.startedAt ?? goZeroTime, updatedAt: status.updatedAt ?? goZeroTime };
}

/** The content store of a remote daemon, through its Content service. */
export class ContentProxy implements ContentStore {
  constructor(private readonly service: ServiceClient<typeof contentV1.ContentDefinition>) {}

  async info(context: CallContext, digest: string): Promise<ContentInfo> {
    return infoOf((await this.service.info({ digest }, context)).info);
  }

  async update(context: CallContext, info: Pick<ContentInfo, "digest" | "labels">, fieldpaths: readonly string[]): Promise<ContentInfo> {
    const request = {
      info: { digest: info.digest, size: 0, createdAt: undefined, updatedAt: undefined, labels: { ...info.labels } },
      updateMask: [...fieldpaths],
    };
    return infoOf((await this.service.update(request, context)).info);
  }

  async *list(context: CallContext, filters: readonly string[]): AsyncIterable<ContentInfo> {
    for await (const { info } of this.service.list({ filters: [...filters] }, context)) yield* info.map(infoOf);
  }

  async delete(context: CallContext, digest: string): Promise<void> {
    await this.service.delete({ digest }, context);
  }

  async *read(context: CallContext, digest: string, offset = 0, length = 0): AsyncIterable<Uint8Array> {
    for await (const { data } of this.service.read({ digest, offset, size: length }, context)) yield data;
  }

  async writer(context: CallContext, options: WriterOptions): Promise<ContentWriter> {
    const call = this.service.write(context);
    const writer = new StreamWriter(options.ref, call, options.expected ?? "");
    try {
      await writer.exchange({ action: contentV1.WriteAction.STAT, ref: options.ref, total: options.total ?? 0, expected: options.expected ?? "" });
    } catch (error) {
      call.cancel();
      throw error;
    }
    return writer;
  }

  async status(context: CallContext, ref: string): Promise<IngestStatus> {
    return statusOf((await this.service.status({ ref }, context)).status);
  }

  async listStatuses(context: CallContext, filters: readonly string[]): Promise<IngestStatus[]> {
    return (await this.service.listStatuses({ filters: [...filters] }, context)).statuses.map(statusOf);
  }

  async abort(context: CallContext, ref: string): Promise<void> {
    await this.service.abort({ ref }, context);
  }
}

/** A writer over one Write stream: each call sends one request and waits for its one response. */
class StreamWriter implements ContentWriter {
  readonly #responses: AsyncIterator<contentV1.WriteContentResponse>;
  #offset = 0;
  #total = 0;
  #done = false;

  constructor(
    readonly ref: string,
    private readonly call: BidiCall<contentV1.WriteContentRequest, contentV1.WriteContentResponse>,
    private readonly expected: string,
  ) {
    this.#responses = call[Symbol.asyncIterator]();
  }

  async exchange(request: Partial<contentV1.WriteContentRequest>): Promise<contentV1.WriteContentResponse> {
    if (this.#done) throw invalidArgument(`writer for ${JSON.stringify(this.ref)} is closed`);
    this.call.send({ action: contentV1.WriteAction.STAT, ref: "", total: 0, expected: "", offset: 0, data: Buffer.alloc(0), labels: {}, ...request });
    const next = await this.#responses.next();
    if (next.done) throw invalidArgument("daemon ended the write stream");
    this.#offset = next.value.offset;
    if (next.value.total > 0) this.#total = next.value.total;
    return next.value;
  }

  async status(): Promise<IngestStatus> {
    const response = await this.exchange({ action: contentV1.WriteAction.STAT });
    return {
      ref: this.ref,
      offset: response.offset,
      total: response.total,
      expected: this.expected,
      startedAt: response.startedAt ?? goZeroTime,
      updatedAt: response.updatedAt ?? goZeroTime,
    };
  }

  async digest(): Promise<string> {
    return (await this.exchange({ action: contentV1.WriteAction.STAT })).digest;
  }

  async write(data: Uint8Array, offset?: number): Promise<void> {
    // Refused here, as the daemon would, because a refusal there would end the stream.
    if (offset !== undefined && offset !== 0 && offset !== this.#offset) throw outOfRange(`write @${offset} must occur at current offset ${this.#offset}`);
    if (this.#done) throw invalidArgument(`writer for ${JSON.stringify(this.ref)} is closed`);
    // The chunks go out back to back and their answers are read after: one round trip per call, not per chunk.
    let position = offset ?? this.#offset;
    let sent = 0;
    for (let start = 0; start < data.length; start += chunkSize) {
      const chunk = Buffer.from(data.buffer, data.byteOffset + start, Math.min(chunkSize, data.length - start));
      this.call.send({ action: contentV1.WriteAction.WRITE, ref: "", total: 0, expected: "", offset: position, data: chunk, labels: {} });
      position += chunk.length;
      sent++;
    }
    for (let i = 0; i < sent; i++) {
      const next = await this.#responses.next();
      if (next.done) throw invalidArgument("daemon ended the write stream");
      this.#offset = next.value.offset;
      if (next.value.total > 0) this.#total = next.value.total;
    }
  }

  async truncate(size: number): Promise<void> {
    if (size !== 0) throw notImplemented("truncating a remote ingest to anything but 0");
    await this.exchange({ action: contentV1.WriteAction.WRITE, offset: 0 });
  }

  async commit(size: number, expected: string, labels: Readonly<Record<string, string>> = {}): Promise<void> {
    await this.exchange({ action: contentV1.WriteAction.COMMIT, total: size || this.#total, offset: this.#offset, expected, labels: { ...labels } });
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.call.end();
    // Drain so that the stream's status (and any error) is consumed.
    while (!(await this.#responses.next().catch(() => ({ done: true }))).done);
  }
}
