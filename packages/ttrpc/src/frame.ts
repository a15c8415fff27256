// ttrpc framing: a 10-byte header (payload length u32 BE, stream id u32 BE, type u8, flags u8)
// followed by the payload.

export const frameHeaderLength = 10;
/** ttrpc's limit on one payload; larger messages are refused with ResourceExhausted. */
export const maxMessageLength = 4 << 20;

export const messageTypes = { request: 0x01, response: 0x02, data: 0x03 } as const;

export interface Frame {
  readonly streamId: number;
  readonly type: number;
  readonly flags: number;
  readonly payload: Buffer;
}

/** A frame whose declared length is over the limit: its payload was skipped, never buffered. */
export interface OversizedFrame {
  readonly streamId: number;
  readonly type: number;
  readonly length: number;
}

export function encodeFrame(streamId: number, type: number, payload: Uint8Array, flags = 0): Buffer {
  const frame = Buffer.allocUnsafe(frameHeaderLength + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(streamId, 4);
  frame.writeUInt8(type, 8);
  frame.writeUInt8(flags, 9);
  frame.set(payload, frameHeaderLength);
  return frame;
}

/** Splits a byte stream into frames as chunks arrive. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #skipping = 0;

  constructor(
    private readonly onFrame: (frame: Frame) => void,
    private readonly onOversized: (frame: OversizedFrame) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.#skipping > 0) {
      const skipped = Math.min(this.#skipping, chunk.length);
      this.#skipping -= skipped;
      chunk = chunk.subarray(skipped);
      if (chunk.length === 0) return;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#drain();
  }

  #take(length: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
    const taken = all.subarray(0, length);
    const rest = all.subarray(length);
    this.#chunks = rest.length === 0 ? [] : [rest];
    this.#buffered = rest.length;
    return taken;
  }

  #peekHeader(): { length: number; streamId: number; type: number; flags: number } {
    const first = this.#chunks[0]!;
    const header = first.length >= frameHeaderLength ? first : Buffer.concat(this.#chunks, this.#buffered);
    return { length: header.readUInt32BE(0), streamId: header.readUInt32BE(4), type: header.readUInt8(8), flags: header.readUInt8(9) };
  }

  #drain(): void {
    while (this.#buffered >= frameHeaderLength) {
      const header = this.#peekHeader();
      if (header.length > maxMessageLength) {
        this.#take(frameHeaderLength);
        const skipped = Math.min(header.length, this.#buffered);
        this.#take(skipped);
        this.#skipping = header.length - skipped;
        this.onOversized({ streamId: header.streamId, type: header.type, length: header.length });
        if (this.#skipping > 0) return;
        continue;
      }
      if (this.#buffered < frameHeaderLength + header.length) return;
      const frame = this.#take(frameHeaderLength + header.length);
      // The payload is copied so that a handler keeping it does not pin the whole read buffer.
      this.onFrame({ streamId: header.streamId, type: header.type, flags: header.flags, payload: Buffer.from(frame.subarray(frameHeaderLength)) });
    }
  }
}
