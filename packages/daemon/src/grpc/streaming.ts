import { type Any, bareTypeUrl, invalidArgument, requireNamespace } from "@berth/api";
import { streamingV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";
import type { StreamManager } from "../streams.js";

const streamInitType = `${streamingV1.protobufPackage}.StreamInit`;
/** The answer to a StreamInit: an Any holding google.protobuf.Empty (no bytes). */
const registered: Any = { typeUrl: "google.protobuf.Empty", value: Buffer.alloc(0) };

/** containerd's Streaming service: the first frame names the stream (StreamInit), then frames flow until either side ends. */
export function streamingHandlers(streams: StreamManager): ServiceHandlers<typeof streamingV1.StreamingDefinition> {
  return {
    async *stream(requests, context) {
      const frames = requests[Symbol.asyncIterator]();
      const first = await frames.next();
      if (first.done === true) return;
      if (bareTypeUrl(first.value.typeUrl) !== streamInitType)
        throw invalidArgument(`stream: first frame must be ${streamInitType}, not ${first.value.typeUrl}`);
      const { id } = streamingV1.StreamInit.decode(first.value.value);
      const namespace = requireNamespace(context);
      const stream = streams.open(namespace, id);
      const gone = () => {
        stream.clientEnded();
        stream.close();
      };
      context.signal?.addEventListener("abort", gone, { once: true });
      void (async () => {
        try {
          for (let next = await frames.next(); next.done !== true; next = await frames.next()) stream.deliver(next.value);
        } catch {
          // the call broke: the daemon's side hears it as the client's end
        } finally {
          stream.clientEnded();
        }
      })();
      try {
        yield registered;
        yield* stream.outgoing();
      } finally {
        context.signal?.removeEventListener("abort", gone);
        streams.remove(namespace, id, stream);
      }
    },
  };
}
