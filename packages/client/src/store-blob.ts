import { type CallContext, type ContentWriter, errorOfKind, isKind } from "@berth/api";
import type { Descriptor } from "@berth/oci";
import type { Fetcher } from "@berth/remotes";
import type { Client } from "./client.js";
import { refKey } from "./image-formats.js";
import { batched, readAhead } from "./byte-streams.js";
import type { ProgressListener, TransferStatus } from "./progress.js";

export interface StoreBlobOptions {
  readonly labels?: Readonly<Record<string, string>>;
  /** The blob itself when the caller already has it (a manifest it read); else fetched. */
  readonly bytes?: Uint8Array;
  readonly progress?: ProgressListener;
  /**
   * The caller's turn to move bytes (its download limit), awaited once the writer is open, so that
   * opening it overlaps the transfers before; given back once the bytes are written (the caller gives
   * it back too, when the blob needed no transfer or failed; giving back twice is harmless).
   */
  readonly turn?: Promise<() => void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A writer for the blob's ref, waiting (as containerd's OpenWriter) while another writer holds it; undefined when the blob is there. */
async function openWriter(client: Client, context: CallContext, descriptor: Descriptor): Promise<ContentWriter | undefined> {
  for (let attempt = 1, wait = 50; ; attempt++, wait = Math.min(wait * 2, 1000)) {
    try {
      return await client.content.writer(context, { ref: refKey(descriptor), total: descriptor.size, expected: descriptor.digest });
    } catch (error) {
      if (isKind(error, "AlreadyExists")) return undefined;
      if (!isKind(error, "Unavailable") || context.signal?.aborted || attempt >= 120) throw error;
    }
    await sleep(wait);
  }
}

/**
 * Writes one blob into the content store as containerd's fetch handler does: a blob already there
 * (or committed by another namespace) moves no byte; an ingest an interrupted pull left is resumed
 * from its offset with a Range request. The store checks the whole blob's digest at commit (the
 * bytes are not hashed here too, as containerd's ctr does not). A resumed ingest that fails that
 * check is discarded and fetched once more from the start; a blob whose bytes are wrong leaves no
 * ingest behind.
 */
export async function storeBlob(
  client: Client,
  context: CallContext,
  fetcher: Fetcher,
  descriptor: Descriptor,
  options: StoreBlobOptions = {},
): Promise<"done" | "exists"> {
  const ref = refKey(descriptor);
  const report = (status: TransferStatus, offset: number, moved: number) =>
    options.progress?.({ ref, descriptor, status, offset, total: descriptor.size, moved });
  for (const attempt of [{ resume: true }, { resume: false }]) {
    const writer = await openWriter(client, context, descriptor);
    if (writer === undefined) {
      report("exists", 0, 0);
      return "exists";
    }
    let resumedAt = 0;
    let moved = 0;
    try {
      const { offset } = await writer.status();
      if (offset === descriptor.size && attempt.resume) {
        // Present elsewhere (another namespace), or an ingest complete but not committed: only recorded here.
        resumedAt = offset;
        await writer.commit(descriptor.size, descriptor.digest, options.labels ?? {});
        report("exists", 0, 0);
        return "exists";
      }
      resumedAt = attempt.resume && options.bytes === undefined ? offset : 0;
      if (offset > 0 && resumedAt === 0) await writer.truncate(0);
      await options.turn;
      report("downloading", resumedAt, 0);
      // The store checks the digest at commit: the bytes are hashed there, not here as well.
      const source = options.bytes !== undefined ? [options.bytes] : fetcher.fetch(descriptor, { offset: resumedAt, verifiedByConsumer: true });
      let position = resumedAt;
      for await (const chunk of batched(options.bytes !== undefined ? source : readAhead(source as AsyncIterable<Uint8Array>))) {
        await writer.write(chunk, position);
        position += chunk.byteLength;
        moved += chunk.byteLength;
        report("downloading", position, moved);
      }
      // The bytes are in: the next transfer need not wait for this commit (its digest check and sync).
      (await options.turn)?.();
      await writer.commit(descriptor.size, descriptor.digest, options.labels ?? {}).catch((error: unknown) => {
        // The store refused bytes fetched whole and unhashed here: the registry sent wrong ones.
        throw isKind(error, "FailedPrecondition") && options.bytes === undefined
          ? errorOfKind("DataLoss", `${descriptor.digest}: digest mismatch: ${(error as Error).message}`)
          : error;
      });
      report("done", descriptor.size, moved);
      return "done";
    } catch (error) {
      await writer.close().catch(() => undefined);
      if (isKind(error, "AlreadyExists")) {
        report("exists", 0, 0);
        return "exists";
      }
      const wrongBytes = isKind(error, "DataLoss") || isKind(error, "FailedPrecondition");
      // Bytes that failed verification must not be resumed from: the ingest goes.
      if (wrongBytes) await client.content.abort(context, ref).catch(() => undefined);
      if (!(wrongBytes && resumedAt > 0)) throw error;
    }
  }
  throw new Error("unreachable");
}
