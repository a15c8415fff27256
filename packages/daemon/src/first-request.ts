import type { Socket } from "node:net";
import {
  ACK,
  CONTINUATION,
  END_HEADERS,
  FRAME_HEADER,
  HEADERS,
  PREFACE,
  PRIORITY_FRAME,
  SETTINGS,
  WINDOW_UPDATE,
  frameHeader,
  headerFragment,
} from "./http2-frames.js";

/** A SETTINGS frame with no parameters: the server keeps every default until its session sends its own. */
export const emptySettingsFrame = frameHeader(0, SETTINGS, 0, 0);

export interface FirstRequest {
  /** Everything read so far, without the client's ACK of `emptySettingsFrame` when that came. */
  readonly bytes: Buffer;
  /** Whether that ACK came (and was taken out of `bytes`). */
  readonly acknowledged: boolean;
  /** The first request's header block, when it came before any frame other than SETTINGS, WINDOW_UPDATE or PRIORITY. */
  readonly headerBlock?: Buffer;
}

/**
 * Reads a new HTTP/2 connection (on which `emptySettingsFrame` was written) up to its first request's
 * header block and the ACK of those settings. grpc-go sends no request before it has the server's
 * SETTINGS, hence the frame. Settles early with what it has (no `headerBlock`) on anything unexpected
 * or after `timeoutMs`; the socket is left paused with nothing read past `bytes`.
 */
export function readFirstRequest(socket: Socket, timeoutMs: number): Promise<FirstRequest> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let offset = PREFACE.length;
    let ack: { start: number; end: number } | undefined;
    let fragments: Buffer[] | undefined;
    let headerBlock: Buffer | undefined;
    const finish = (complete: boolean) => {
      socket.pause();
      socket.off("data", onData).off("error", onError).off("close", onClose);
      clearTimeout(timer);
      const bytes = ack === undefined ? received : Buffer.concat([received.subarray(0, ack.start), received.subarray(ack.end)]);
      resolve({ bytes, acknowledged: ack !== undefined, ...(complete && headerBlock !== undefined ? { headerBlock } : {}) });
    };
    const onData = (data: Buffer) => {
      received = Buffer.concat([received, data]);
      if (received.length < PREFACE.length) return;
      if (!received.subarray(0, PREFACE.length).equals(PREFACE)) return finish(false);
      while (received.length - offset >= FRAME_HEADER) {
        const length = received.readUIntBE(offset, 3);
        const end = offset + FRAME_HEADER + length;
        if (received.length < end) break;
        const type = received[offset + 3]!;
        const flags = received[offset + 4]!;
        if (type === SETTINGS && flags & ACK && ack === undefined) {
          ack = { start: offset, end };
        } else if (headerBlock === undefined) {
          const frame = received.subarray(offset, end);
          if (type === HEADERS && fragments === undefined) {
            fragments = [headerFragment(frame)];
          } else if (type === CONTINUATION && fragments !== undefined) {
            fragments.push(headerFragment(frame));
          } else if (type !== SETTINGS && type !== WINDOW_UPDATE && type !== PRIORITY_FRAME) {
            return finish(false);
          }
          if (fragments !== undefined && flags & END_HEADERS) headerBlock = Buffer.concat(fragments);
        }
        offset = end;
        if (headerBlock !== undefined && ack !== undefined) return finish(true);
      }
    };
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    const onClose = () => onError(new Error("connection closed before its first request"));
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", onData).on("error", onError).on("close", onClose);
  });
}
