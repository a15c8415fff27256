/** The HTTP/2 wire facts (RFC 9113) the connection filters of this daemon read and write. */

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
export const FRAME_HEADER = 9;

export const HEADERS = 0x1;
export const PRIORITY_FRAME = 0x2;
export const SETTINGS = 0x4;
export const WINDOW_UPDATE = 0x8;
export const CONTINUATION = 0x9;

export const ACK = 0x1;
export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUIntBE(length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return header;
}

/** The header block fragment a HEADERS or CONTINUATION `frame` carries, without padding or priority. */
export function headerFragment(frame: Buffer): Buffer {
  const flags = frame[4]!;
  let payload = frame.subarray(FRAME_HEADER);
  if (frame[3] !== HEADERS) return payload;
  if (flags & PADDED) payload = payload.subarray(1, payload.length - payload[0]!);
  if (flags & PRIORITY) payload = payload.subarray(5);
  return payload;
}
