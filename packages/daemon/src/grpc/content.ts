import { type CallContext, type ContentInfo, type ContentStore, type ContentWriter, alreadyExists, invalidArgument, isKind, outOfRange } from "@berth/api";
import { contentV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";
import { batches } from "./batches.js";

const { WriteAction } = contentV1;
type WriteRequest = contentV1.WriteContentRequest;
type WriteResponse = contentV1.WriteContentResponse;

const infoMessage = (info: ContentInfo): contentV1.Info => ({ ...info, labels: { ...info.labels } });

/**
 * The Write stream, as containerd's server runs it: the first message opens (and locks) the
 * ingest named by its ref; every message gets exactly one response; STAT reports, WRITE appends
 * at the stated offset (0 restarts), COMMIT writes then commits and ends the stream. A stream
 * that ends without COMMIT leaves the ingest to be resumed.
 */
async function* write(store: ContentStore, requests: AsyncIterable<WriteRequest>, context: CallContext): AsyncIterable<WriteResponse> {
  let writer: ContentWriter | undefined;
  let total = 0;
  let expected = "";
  let committed = false;
  try {
    for await (const request of requests) {
      if (writer === undefined) {
        if (request.ref === "") throw invalidArgument("first message must have a reference");
        total = request.total;
        expected = request.expected;
        writer = await store.writer(context, { ref: request.ref, total, expected });
      }
      if (request.expected !== "" && request.expected !== expected) {
        expected = request.expected;
        const present = await store.info(context, expected).then(
          () => true,
          (error: unknown) => (isKind(error, "NotFound") ? false : Promise.reject(error)),
        );
        if (present) {
          await writer.close();
          await store.abort(context, request.ref || writer.ref).catch(() => undefined);
          writer = undefined;
          throw alreadyExists(`content ${expected}`);
        }
      }
      if (request.total > 0) total = request.total;

      if (request.action === WriteAction.WRITE || request.action === WriteAction.COMMIT) {
        const { offset } = await writer.status();
        if (request.offset > 0 && request.offset !== offset) throw outOfRange(`write @${request.offset} must occur at current offset ${offset}`);
        if (request.offset === 0 && offset > 0) await writer.truncate(0);
        if (request.data.length > 0) await writer.write(request.data);
      } else if (request.action !== WriteAction.STAT) {
        throw invalidArgument(`action: unknown write action ${request.action}`);
      }

      const status = await writer.status();
      const digest = await writer.digest();
      if (request.action === WriteAction.COMMIT) {
        await writer.commit(total, expected, request.labels);
        committed = true;
        yield { action: request.action, startedAt: status.startedAt, updatedAt: status.updatedAt, offset: status.offset, total, digest };
        return;
      }
      yield {
        action: request.action,
        startedAt: status.startedAt,
        updatedAt: status.updatedAt,
        offset: status.offset,
        total: request.action === WriteAction.STAT ? status.total : total,
        digest,
      };
    }
  } finally {
    if (writer !== undefined && !committed) await writer.close().catch(() => undefined);
  }
}

export function contentHandlers(store: ContentStore): ServiceHandlers<typeof contentV1.ContentDefinition> {
  return {
    info: async ({ digest }, context) => ({ info: infoMessage(await store.info(context, digest)) }),
    update: async ({ info, updateMask }, context) => {
      if (info === undefined) throw invalidArgument("info: must be set");
      return { info: infoMessage(await store.update(context, info, updateMask ?? [])) };
    },
    list: async function* ({ filters }, context) {
      for await (const batch of batches(store.list(context, filters))) yield { info: batch.map(infoMessage) };
    },
    delete: async ({ digest }, context) => {
      await store.delete(context, digest);
      return {};
    },
    read: async function* ({ digest, offset, size }, context) {
      let position = Math.max(offset, 0);
      for await (const data of store.read(context, digest, position, Math.max(size, 0))) {
        yield { offset: position, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
        position += data.length;
      }
    },
    status: async ({ ref }, context) => ({ status: await store.status(context, ref) }),
    listStatuses: async ({ filters }, context) => ({ statuses: await store.listStatuses(context, filters) }),
    write: (requests, context) => write(store, requests, context),
    abort: async ({ ref }, context) => {
      await store.abort(context, ref);
      return {};
    },
  };
}
