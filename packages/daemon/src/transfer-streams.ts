import { type Any, type Stream, bareTypeUrl, invalidArgument } from "@berth/api";
import { transferTypes } from "@berth/api/proto";
import type { DescriptorProgress, PullOptions } from "@berth/client";

const typeUrlOf = (name: string) => `${transferTypes.protobufPackage}.${name}`;
const progressType = typeUrlOf("Progress");
const authRequestType = typeUrlOf("AuthRequest");
const authResponseType = typeUrlOf("AuthResponse");

/** A "downloading" frame per descriptor at most this often, as containerd's tracker samples its ingests. */
const downloadingEveryMs = 100;

/** containerd's words for Berth's transfer statuses. */
const events: Record<DescriptorProgress["status"], string> = {
  waiting: "waiting",
  downloading: "downloading",
  uploading: "uploading",
  done: "complete",
  exists: "already exists",
  mounted: "mounted",
};

/**
 * Sends a pull's progress as containerd's transfer service does: `Progress` frames naming each
 * descriptor by its ref key with its parents (the root's parent is the image name), plus the
 * service's own events ("Resolving from …", "saved", …).
 */
export class ProgressFrames {
  readonly #parents = new Map<string, string[]>();
  readonly #refs = new Map<string, string>();
  readonly #lastDownloading = new Map<string, number>();

  constructor(
    private readonly stream: Stream,
    private readonly root: string,
  ) {}

  event(event: string, name = ""): void {
    this.#send({ event, name, parents: [], progress: 0, total: 0, desc: undefined });
  }

  readonly listener = (p: DescriptorProgress): void => {
    const { descriptor } = p;
    if (p.status === "waiting") {
      this.#refs.set(descriptor.digest, p.ref);
      const parent = p.parent === undefined ? undefined : this.#refs.get(p.parent.digest);
      this.#parents.set(p.ref, [parent ?? this.root]);
    } else if (p.status === "downloading") {
      const now = performance.now();
      if (now - (this.#lastDownloading.get(p.ref) ?? -Infinity) < downloadingEveryMs) return;
      this.#lastDownloading.set(p.ref, now);
    }
    const done = p.status === "done" || p.status === "exists";
    this.#send({
      event: events[p.status],
      name: p.ref,
      parents: p.status === "exists" ? [] : (this.#parents.get(p.ref) ?? []),
      progress: done ? descriptor.size : p.offset,
      total: descriptor.size,
      desc: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size, annotations: { ...descriptor.annotations } },
    });
  };

  #send(progress: transferTypes.Progress): void {
    this.stream.send({ typeUrl: progressType, value: Buffer.from(transferTypes.Progress.encode(progress).finish()) });
  }
}

function decodeAuthResponse(frame: Any): transferTypes.AuthResponse {
  if (bareTypeUrl(frame.typeUrl) !== authResponseType) throw invalidArgument(`auth stream: expected ${authResponseType}, got ${frame.typeUrl}`);
  return transferTypes.AuthResponse.decode(frame.value);
}

/**
 * Credentials asked of the client over its auth stream when a registry host challenges, as
 * containerd's transfer service does (one question at a time; the answer is kept per host by the
 * resolver). CREDENTIALS gives a user and secret, REFRESH a secret alone; NONE or a closed stream, none.
 */
export function streamCredentials(stream: Stream, reference: string): NonNullable<PullOptions["credentials"]> {
  let turn: Promise<unknown> = Promise.resolve();
  const ask = async (host: string, challenges: readonly string[] = []) => {
    const request = transferTypes.AuthRequest.encode({ host, reference, wwwauthenticate: [...challenges] }).finish();
    stream.send({ typeUrl: authRequestType, value: Buffer.from(request) });
    const frame = await stream.receive();
    if (frame === undefined) return undefined;
    const response = decodeAuthResponse(frame);
    if (response.authType === transferTypes.AuthType.CREDENTIALS) return { username: response.username, password: response.secret };
    if (response.authType === transferTypes.AuthType.REFRESH) return { username: "", password: response.secret };
    return undefined;
  };
  return (host, challenges) => {
    const answer = turn.then(() => ask(host, challenges));
    turn = answer.catch(() => undefined);
    return answer;
  };
}
