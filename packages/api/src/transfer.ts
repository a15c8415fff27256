import type { CallContext } from "./context.js";
import type { Any } from "./typeurl.js";

/**
 * One stream of containerd's Streaming service as the daemon's side sees it: a client opened it
 * with `StreamInit{id}` and was answered `google.protobuf.Empty`; after that, frames are `Any`s
 * both ways (progress out; auth requests out, auth responses in).
 */
export interface Stream {
  /** Queues a frame for the client; frames go out in order. */
  send(frame: Any): void;
  /** The client's next frame; undefined once the client has ended its side or gone away. */
  receive(): Promise<Any | undefined>;
  /** Ends the call for the client (with OK) once the frames sent before are out. */
  close(): void;
}

/** Open streams by the id their client named, per namespace (containerd's `io.containerd.streaming.v1` manager). */
export interface StreamGetter {
  /** The open stream `id` of the context's namespace; NotFound when there is none. */
  get(context: CallContext, id: string): Stream;
}

/** What a Transfer call asks (containerd.services.transfer.v1.TransferRequest). */
export interface TransferRequest {
  /** A `containerd.types.transfer` message: OCIRegistry for a pull. */
  readonly source?: Any | undefined;
  /** A `containerd.types.transfer` message: ImageStore for a pull. */
  readonly destination?: Any | undefined;
  readonly options?: { readonly progressStream: string } | undefined;
}

/**
 * containerd's transfer service: moves an image from a source to a destination inside the daemon.
 * Bad or unsupported sources and destinations fail before anything is written (InvalidArgument or
 * NotImplemented, naming the field); a failed transfer leaves no image record and no lease.
 */
export interface Transferrer {
  transfer(context: CallContext, request: TransferRequest): Promise<void>;
}
