import { type Any, type CallContext, type Stream, type StreamGetter, alreadyExists, invalidArgument, notFound, requireNamespace } from "@berth/api";

/** Frames in one direction: pushed by one side, awaited by the other; undefined once ended. */
class FrameQueue {
  readonly #frames: Any[] = [];
  readonly #waiting: ((frame: Any | undefined) => void)[] = [];
  #ended = false;

  push(frame: Any): void {
    if (this.#ended) return;
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter(frame);
    else this.#frames.push(frame);
  }

  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiting.splice(0)) waiter(undefined);
  }

  next(): Promise<Any | undefined> {
    const frame = this.#frames.shift();
    if (frame !== undefined || this.#ended) return Promise.resolve(frame);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

/** A stream a client opened: the daemon's side (`Stream`) and the call's side (`deliver`, `outgoing`). */
export class OpenStream implements Stream {
  readonly #toClient = new FrameQueue();
  readonly #fromClient = new FrameQueue();

  send(frame: Any): void {
    this.#toClient.push(frame);
  }

  receive(): Promise<Any | undefined> {
    return this.#fromClient.next();
  }

  close(): void {
    this.#toClient.end();
  }

  /** A frame the client sent. */
  deliver(frame: Any): void {
    this.#fromClient.push(frame);
  }

  /** The client ended its side or went away: receivers hear undefined. */
  clientEnded(): void {
    this.#fromClient.end();
  }

  /** The frames for the client, until the daemon's side closes. */
  async *outgoing(): AsyncGenerator<Any> {
    for (;;) {
      const frame = await this.#toClient.next();
      if (frame === undefined) return;
      yield frame;
    }
  }
}

/**
 * containerd's stream manager (`io.containerd.streaming.v1` `manager`): the streams clients opened
 * through the Streaming service, by namespace and id, for the services that take a stream's id
 * (Transfer's progress and auth streams).
 */
export class StreamManager implements StreamGetter {
  readonly #streams = new Map<string, OpenStream>();

  /** Registers the stream a client's StreamInit named; AlreadyExists while another has the id. */
  open(namespace: string, id: string): OpenStream {
    if (id === "") throw invalidArgument("stream id: must be set");
    const key = `${namespace}/${id}`;
    if (this.#streams.has(key)) throw alreadyExists(`stream ${JSON.stringify(id)}`);
    const stream = new OpenStream();
    this.#streams.set(key, stream);
    return stream;
  }

  /** Forgets a stream once its call has ended. */
  remove(namespace: string, id: string, stream: OpenStream): void {
    const key = `${namespace}/${id}`;
    if (this.#streams.get(key) === stream) this.#streams.delete(key);
  }

  get(context: CallContext, id: string): Stream {
    const stream = this.#streams.get(`${requireNamespace(context)}/${id}`);
    if (stream === undefined) throw notFound(`stream ${JSON.stringify(id)}`);
    return stream;
  }
}
