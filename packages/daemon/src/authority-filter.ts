import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import hpack from "hpack.js";
import { ACK, CONTINUATION, END_HEADERS, END_STREAM, FRAME_HEADER, HEADERS, PREFACE, SETTINGS, frameHeader, headerFragment } from "./http2-frames.js";

// The HPACK half of authority.ts (see there): loaded with the first request a client sends, not with the daemon.

/** The smallest SETTINGS_MAX_FRAME_SIZE a peer may have; Node's server keeps it. */
const MAX_FRAME = 16384;
/** nghttp2's default SETTINGS_HEADER_TABLE_SIZE, which Node's server advertises. */
const TABLE_SIZE = 4096;

/** RFC 3986 authority characters as nghttp2 accepts them (`nghttp2_check_authority`). */
const VALID_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]*$/;

export function normaliseAuthority(value: string): string {
  return VALID_AUTHORITY.test(value) ? value : "localhost";
}

interface HeaderField {
  name: string;
  value: string;
  neverIndex?: boolean;
  incremental?: boolean;
}

class HeaderBlockRewriter {
  private readonly decoder = hpack.decompressor.create({ table: { size: TABLE_SIZE } });
  private readonly encoder = hpack.compressor.create({ table: { size: TABLE_SIZE } });

  private failure?: Error;

  constructor() {
    this.decoder.on("error", (error: Error) => {
      this.failure = error;
    });
  }

  decode(block: Buffer): HeaderField[] {
    this.decoder.write(block);
    this.decoder.execute();
    if (this.failure !== undefined) throw this.failure;
    const fields: HeaderField[] = [];
    for (let field = this.decoder.read(); field !== null; field = this.decoder.read()) {
      const { name, value, neverIndex } = field as HeaderField;
      fields.push({ name, value, neverIndex });
    }
    return fields;
  }

  encode(fields: readonly HeaderField[]): Buffer {
    // Fields too large to stay in the table are sent without indexing, as nghttp2 does.
    this.encoder.write(fields.map((field) => ({ ...field, incremental: field.name.length + field.value.length + 32 <= (TABLE_SIZE * 3) / 4 })));
    const chunks: Buffer[] = [];
    for (let chunk = this.encoder.read(); chunk !== null; chunk = this.encoder.read()) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
}

/** The client-to-server byte stream of one HTTP/2 connection, with header blocks rewritten. */
class ClientFrameFilter {
  private pending: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;
  private readonly rewriter = new HeaderBlockRewriter();
  private open?: { streamId: number; endStream: boolean; fragments: Buffer[] };

  /** `dropSettingsAck`: take out the client's first SETTINGS ACK (of settings the session never sent). */
  constructor(private dropSettingsAck = false) {}

  push(data: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    const out: Buffer[] = [];
    if (!this.prefaceSeen) {
      if (this.pending.length < PREFACE.length) return out;
      out.push(this.pending.subarray(0, PREFACE.length));
      this.pending = this.pending.subarray(PREFACE.length);
      this.prefaceSeen = true;
    }
    while (this.pending.length >= FRAME_HEADER) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < FRAME_HEADER + length) break;
      const frame = this.pending.subarray(0, FRAME_HEADER + length);
      this.pending = this.pending.subarray(FRAME_HEADER + length);
      out.push(...this.frame(frame));
    }
    return out;
  }

  private frame(frame: Buffer): Buffer[] {
    const type = frame[3]!;
    const flags = frame[4]!;
    const streamId = frame.readUInt32BE(5) & 0x7fffffff;
    if (type === SETTINGS && flags & ACK && this.dropSettingsAck) {
      this.dropSettingsAck = false;
      return [];
    }
    if (type === HEADERS) {
      this.open = { streamId, endStream: (flags & END_STREAM) !== 0, fragments: [headerFragment(frame)] };
    } else if (type === CONTINUATION && this.open !== undefined) {
      this.open.fragments.push(headerFragment(frame));
    } else {
      return [frame];
    }
    if (!(flags & END_HEADERS)) return [];
    const { endStream, fragments } = this.open!;
    this.open = undefined;
    const fields = this.rewriter.decode(Buffer.concat(fragments));
    const rewritten = fields.map((field) => (field.name === ":authority" ? { ...field, value: normaliseAuthority(field.value) } : field));
    return this.encodeHeaders(streamId, endStream, this.rewriter.encode(rewritten));
  }

  private encodeHeaders(streamId: number, endStream: boolean, block: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    for (let offset = 0; offset === 0 || offset < block.length; offset += MAX_FRAME) {
      const part = block.subarray(offset, offset + MAX_FRAME);
      const last = offset + MAX_FRAME >= block.length;
      const type = offset === 0 ? HEADERS : CONTINUATION;
      const flags = (last ? END_HEADERS : 0) | (offset === 0 && endStream ? END_STREAM : 0);
      frames.push(frameHeader(part.length, type, flags, streamId), part);
    }
    return frames;
  }
}

/**
 * Wraps an accepted HTTP/2 connection so that path-shaped `:authority` values reach the server as
 * `localhost`. Writes from the server go to the socket untouched.
 */
export function acceptPathAuthorities(socket: Socket, read: { bytes?: Buffer; dropSettingsAck?: boolean } = {}): Duplex {
  const filter = new ClientFrameFilter(read.dropSettingsAck);
  const wrapped = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    // The session writes a response as several chunks: one syscall for them all.
    writev(chunks, callback) {
      socket.cork();
      chunks.forEach(({ chunk }, index) => socket.write(chunk, index === chunks.length - 1 ? callback : undefined));
      socket.uncork();
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  const onData = (data: Buffer) => {
    let frames: Buffer[];
    try {
      frames = filter.push(data);
    } catch (error) {
      wrapped.destroy(error as Error);
      return;
    }
    // One push per read, not per frame: each push is a separate hand-over to the HTTP/2 session.
    if (frames.length > 0 && !wrapped.push(frames.length === 1 ? frames[0] : Buffer.concat(frames))) socket.pause();
  };
  if (read.bytes !== undefined && read.bytes.length > 0) onData(read.bytes);
  socket.on("data", onData);
  socket.on("end", () => wrapped.push(null));
  socket.on("error", (error) => wrapped.destroy(error));
  socket.on("close", () => wrapped.destroy());
  return wrapped;
}

/** Whether a request header block carries an `:authority` nghttp2 would refuse (an undecodable block counts as one). */
export function needsAuthorityRewrite(headerBlock: Buffer): boolean {
  try {
    return new HeaderBlockRewriter().decode(headerBlock).some((field) => field.name === ":authority" && normaliseAuthority(field.value) !== field.value);
  } catch {
    return true;
  }
}
