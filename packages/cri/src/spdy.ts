import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { type Duplex, PassThrough } from "node:stream";
import { type Deflate, type Inflate, constants, createDeflate, createInflate } from "node:zlib";

// SPDY/3's header dictionary, as the spdy-transport package ships it.
const dictionary = (createRequire(import.meta.url)("spdy-transport/lib/spdy-transport/protocol/spdy/dictionary.js") as Record<number, Buffer>)[3]!;

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const WINDOW_UPDATE = 9;
const FLAG_FIN = 0x01;
const VERSION = 3;
const MAX_DATA = 16384;

/** One SPDY stream as the Kubernetes streaming protocols use it: headers, then bytes each way. */
export class SpdyStream {
  /** What the peer sends, buffered until read; ends when the peer half-closes. */
  readonly readable = new PassThrough();
  #ended = false;
  #finished = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: Readonly<Record<string, string>>,
  ) {}

  receive(data: Buffer, fin: boolean): void {
    if (this.#ended) return;
    if (data.length > 0) this.readable.write(data);
    if (fin) {
      this.#ended = true;
      this.readable.end();
    }
  }

  write(data: Buffer | string): void {
    if (this.#finished) return;
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    for (let offset = 0; offset < bytes.length; offset += MAX_DATA) this.session.sendData(this.id, bytes.subarray(offset, offset + MAX_DATA), false);
  }

  /** Half-closes our side. */
  end(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.session.sendData(this.id, Buffer.alloc(0), true);
  }

  reset(): void {
    this.#finished = true;
    this.receive(Buffer.alloc(0), true);
  }
}

/**
 * The server side of a SPDY/3.1 connection: the framing, zlib-compressed header blocks, PING,
 * window updates for what it receives; every stream the client opens is replied to and emitted
 * as `stream`.
 */
export class SpdySession extends EventEmitter {
  readonly #streams = new Map<number, SpdyStream>();
  readonly #inflate: Inflate = createInflate({ dictionary });
  readonly #deflate: Deflate = createDeflate({ dictionary });
  #pending = Buffer.alloc(0);
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(private readonly socket: Duplex) {
    super();
    socket.on("data", (chunk: Buffer) => {
      this.#pending = Buffer.concat([this.#pending, chunk]);
      this.#drain();
    });
    const close = () => this.close();
    socket.on("end", close);
    socket.on("close", close);
    socket.on("error", close);
  }

  #drain(): void {
    while (this.#pending.length >= 8) {
      const length = this.#pending.readUIntBE(5, 3);
      if (this.#pending.length < 8 + length) return;
      const frame = this.#pending.subarray(0, 8 + length);
      this.#pending = this.#pending.subarray(8 + length);
      this.#queue = this.#queue
        .then(() => this.#frame(frame))
        .catch((error) => {
          this.emit("error", error);
          this.close();
        });
    }
  }

  static #zlib(stream: Inflate | Deflate, input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onData = (chunk: Buffer) => chunks.push(chunk);
      stream.on("data", onData);
      stream.once("error", reject);
      stream.write(input);
      stream.flush(constants.Z_SYNC_FLUSH, () => {
        stream.off("data", onData);
        stream.off("error", reject);
        resolve(Buffer.concat(chunks));
      });
    });
  }

  async #frame(frame: Buffer): Promise<void> {
    const control = (frame[0]! & 0x80) !== 0;
    const flags = frame[4]!;
    const body = frame.subarray(8);
    if (!control) {
      const id = frame.readUInt32BE(0) & 0x7fffffff;
      if (body.length > 0) {
        this.#sendControl(WINDOW_UPDATE, 0, Buffer.from([0, 0, 0, 0, ...u32(body.length)]));
        this.#sendControl(WINDOW_UPDATE, 0, Buffer.from([...u32(id), ...u32(body.length)]));
      }
      this.#streams.get(id)?.receive(body, (flags & FLAG_FIN) !== 0);
      return;
    }
    const type = frame.readUInt16BE(2);
    if (type === SYN_STREAM) {
      const id = body.readUInt32BE(0) & 0x7fffffff;
      const headers = parseHeaders(await SpdySession.#zlib(this.#inflate, body.subarray(10)));
      const stream = new SpdyStream(this, id, headers);
      this.#streams.set(id, stream);
      // An empty reply: spdystream only waits for one.
      const block = await SpdySession.#zlib(this.#deflate, Buffer.from([0, 0, 0, 0]));
      this.#sendControl(SYN_REPLY, 0, Buffer.concat([Buffer.from(u32(id)), block]));
      this.emit("stream", stream);
      if ((flags & FLAG_FIN) !== 0) stream.receive(Buffer.alloc(0), true);
    } else if (type === RST_STREAM) {
      const id = body.readUInt32BE(0) & 0x7fffffff;
      this.#streams.get(id)?.reset();
    } else if (type === PING) {
      this.#sendControl(PING, 0, body);
    } else if (type === GOAWAY) {
      this.close();
    }
  }

  #write(bytes: Buffer): void {
    if (!this.#closed && !this.socket.destroyed) this.socket.write(bytes);
  }

  #sendControl(type: number, flags: number, body: Buffer): void {
    const header = Buffer.alloc(8);
    header.writeUInt16BE(0x8000 | VERSION, 0);
    header.writeUInt16BE(type, 2);
    header.writeUInt32BE(body.length, 4);
    header[4] = flags;
    this.#write(Buffer.concat([header, body]));
  }

  sendData(id: number, data: Buffer, fin: boolean): void {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(id & 0x7fffffff, 0);
    header.writeUInt32BE(data.length, 4);
    header[4] = fin ? FLAG_FIN : 0;
    this.#write(Buffer.concat([header, data]));
  }

  /** Closes the connection once what was written has gone out. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stream of this.#streams.values()) stream.reset();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.#inflate.close();
    this.#deflate.close();
    this.emit("close");
  }
}

function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function parseHeaders(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  let offset = 4;
  const count = block.readUInt32BE(0);
  for (let i = 0; i < count; i++) {
    const nameLength = block.readUInt32BE(offset);
    const name = block
      .subarray(offset + 4, offset + 4 + nameLength)
      .toString("utf8")
      .toLowerCase();
    offset += 4 + nameLength;
    const valueLength = block.readUInt32BE(offset);
    // Several values of one header are NUL-separated; the first is enough here.
    headers[name] = block
      .subarray(offset + 4, offset + 4 + valueLength)
      .toString("utf8")
      .split("\0")[0]!;
    offset += 4 + valueLength;
  }
  return headers;
}
