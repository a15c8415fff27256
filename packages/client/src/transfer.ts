import { randomBytes } from "node:crypto";
import { type Any, bareTypeUrl, unavailable } from "@berth/api";
import * as streamingV1 from "@berth/api/gen/containerd/services/streaming/v1/streaming";
import * as transferV1 from "@berth/api/gen/containerd/services/transfer/v1/transfer";
import * as transferTypes from "@berth/api/gen/containerd/types/transfer/transfer";
import type { BidiCall } from "@berth/api/services";
import type { Platform } from "@berth/oci";
import type { Credentials, CredentialsSource } from "@berth/remotes";
import type { Client } from "./client.js";
import type { DescriptorProgress, ProgressListener, TransferStatus } from "./progress.js";

const typeUrlOf = (name: string) => `${transferTypes.protobufPackage}.${name}`;
const packed = <T>(name: string, type: { encode(message: T): { finish(): Uint8Array } }, message: T): Any => ({
  typeUrl: typeUrlOf(name),
  value: Buffer.from(type.encode(message).finish()),
});

export interface TransferPullOptions {
  /** Platforms to fetch; empty: every platform of an index. */
  readonly platforms: readonly Platform[];
  /** Unpack into this snapshotter ("" for the daemon's default) for each of `platforms`; `false` fetches only. */
  readonly unpack: string | false;
  /** Platforms to unpack (default: `platforms`). */
  readonly unpackPlatforms?: readonly Platform[];
  readonly allMetadata?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  /** Name of the image record (default: the reference). */
  readonly name?: string;
  /** The daemon's registry hosts speak http (RegistryResolver.default_scheme). */
  readonly plainHttp?: boolean;
  /** hosts.toml directory on the daemon's host (RegistryResolver.host_dir). */
  readonly hostsDir?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Answered over the auth stream when a registry challenges the daemon; never put in the request. */
  readonly credentials?: Credentials | CredentialsSource;
  /** Told of every descriptor's progress, as a client-side pull tells it. */
  readonly progress?: ProgressListener;
  /** Told once the daemon has resolved the reference. */
  readonly resolved?: () => void;
}

/** A Streaming stream this client opened: the daemon answered its StreamInit. */
interface OpenedStream {
  readonly id: string;
  readonly call: BidiCall<Any, Any>;
  readonly frames: AsyncIterator<Any>;
}

/** Opens a stream; a daemon without the Streaming service (containerd 1.6) fails it with NotImplemented. */
async function openStream(client: Client, prefix: string): Promise<OpenedStream> {
  const id = `${prefix}-${randomBytes(8).toString("hex")}`;
  const call = client.service(streamingV1.StreamingDefinition).stream();
  call.send({ typeUrl: `${streamingV1.protobufPackage}.StreamInit`, value: Buffer.from(streamingV1.StreamInit.encode({ id }).finish()) });
  const frames = call[Symbol.asyncIterator]();
  try {
    const first = await frames.next();
    if (first.done === true) throw unavailable(`stream ${id}: the daemon ended it before answering`);
  } catch (error) {
    call.cancel();
    throw error;
  }
  return { id, call, frames };
}

const statusOfEvent: Record<string, TransferStatus> = {
  waiting: "waiting",
  downloading: "downloading",
  complete: "done",
  "already exists": "exists",
};

/** A Progress frame as the client-side pull's progress event, or undefined for the service's own events. */
function descriptorProgress(frame: transferTypes.Progress): DescriptorProgress | undefined {
  const status = statusOfEvent[frame.event];
  if (status === undefined || frame.name === "") return undefined;
  const desc = frame.desc;
  const digest = desc?.digest || frame.name.slice(frame.name.indexOf("-") + 1);
  const descriptor = {
    mediaType: desc?.mediaType ?? "",
    digest,
    size: desc?.size ?? frame.total,
    ...(desc?.annotations ? { annotations: desc.annotations } : {}),
  };
  const offset = status === "waiting" ? 0 : frame.progress;
  return { ref: frame.name, descriptor, status, offset, total: frame.total, moved: status === "exists" ? 0 : offset };
}

async function reportProgress(stream: OpenedStream, options: TransferPullOptions): Promise<void> {
  for (let next = await stream.frames.next(); next.done !== true; next = await stream.frames.next()) {
    if (bareTypeUrl(next.value.typeUrl) !== typeUrlOf("Progress")) continue;
    const frame = transferTypes.Progress.decode(next.value.value);
    if (frame.event.startsWith("Pulling from ")) options.resolved?.();
    const progress = descriptorProgress(frame);
    if (progress !== undefined) options.progress?.(progress);
  }
}

async function answerAuth(stream: OpenedStream, credentials: Credentials | CredentialsSource): Promise<void> {
  for (let next = await stream.frames.next(); next.done !== true; next = await stream.frames.next()) {
    if (bareTypeUrl(next.value.typeUrl) !== typeUrlOf("AuthRequest")) continue;
    const request = transferTypes.AuthRequest.decode(next.value.value);
    const found = typeof credentials === "function" ? await credentials(request.host, request.wwwauthenticate) : credentials;
    const response: transferTypes.AuthResponse =
      found === undefined
        ? { authType: transferTypes.AuthType.NONE, secret: "", username: "", expireAt: undefined }
        : { authType: transferTypes.AuthType.CREDENTIALS, secret: found.password, username: found.username, expireAt: undefined };
    stream.call.send(packed("AuthResponse", transferTypes.AuthResponse, response));
  }
}

const platformMessage = (p: Platform) => ({ os: p.os, architecture: p.architecture, variant: p.variant ?? "" });

/**
 * Pulls `ref` through the daemon's Transfer service (containerd 1.7+, berthd): the daemon fetches,
 * stores, records and unpacks; progress comes back over a Streaming stream, and registry
 * credentials go over another only when the registry asks for them. A daemon without the service
 * (containerd 1.6) fails with NotImplemented before anything is written.
 */
export async function transferPull(client: Client, ref: string, options: TransferPullOptions): Promise<void> {
  const progress = await openStream(client, "progress");
  let auth: OpenedStream | undefined;
  try {
    if (options.credentials !== undefined) auth = await openStream(client, "creds");
    const reporting = reportProgress(progress, options);
    reporting.catch(() => undefined); // awaited below
    const answering = auth === undefined ? undefined : answerAuth(auth, options.credentials!);
    answering?.catch(() => undefined); // ends with its stream
    const source = packed("OCIRegistry", transferTypes.OCIRegistry, {
      reference: ref,
      resolver: {
        authStream: auth?.id ?? "",
        headers: { ...options.headers },
        hostDir: options.hostsDir ?? "",
        defaultScheme: options.plainHttp ? "http" : "",
        httpDebug: transferTypes.HTTPDebug.DISABLED,
        logsStream: "",
      },
    });
    const unpackPlatforms = options.unpackPlatforms ?? options.platforms;
    const destination = packed("ImageStore", transferTypes.ImageStore, {
      name: options.name ?? ref,
      labels: { ...options.labels },
      platforms: options.platforms.map(platformMessage),
      allMetadata: options.allMetadata ?? false,
      manifestLimit: 0,
      extraReferences: [],
      unpacks: options.unpack === false ? [] : unpackPlatforms.map((p) => ({ platform: platformMessage(p), snapshotter: options.unpack as string })),
    });
    await client.service(transferV1.TransferDefinition).transfer({ source, destination, options: { progressStream: progress.id } });
    // The daemon ends the progress stream before it answers: every frame is in.
    await reporting;
  } finally {
    progress.call.cancel();
    auth?.call.cancel();
  }
}
