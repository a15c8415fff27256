import type { Transferrer } from "@berth/api";
import { streamingV1, transferV1 } from "@berth/api/proto";
import type { Client } from "@berth/client";
import type { Differ } from "../diff.js";
import { streamingHandlers } from "../grpc/streaming.js";
import { transferHandlers } from "../grpc/transfer.js";
import { StreamManager } from "../streams.js";
import { LocalTransferService, type TransferDependencies } from "../transfer.js";
import { diffService, metadataServices } from "./grpc.js";
import { localClient } from "./local-client.js";
import type { Plugin } from "./registry.js";
import { type GrpcService, grpcService, hostPlatform, pluginTypes } from "./types.js";

/** containerd's `io.containerd.streaming.v1` `manager`: the streams clients open for other services. */
export const streamingManagerPlugin: Plugin<StreamManager> = {
  type: pluginTypes.streaming,
  id: "manager",
  requires: [pluginTypes.metadata],
  init: () => new StreamManager(),
};

export const streamingGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "streaming",
  requires: [pluginTypes.streaming],
  init: (context) => grpcService(streamingV1.StreamingDefinition, streamingHandlers(context.get(pluginTypes.streaming, "manager"))),
};

/**
 * containerd's `io.containerd.transfer.v1` `local`: pulls in the daemon, through the metadata's
 * content, images, leases and snapshots and the differ, called in-process as the CRI calls them
 * (never through the daemon's own socket). The client library loads on the first transfer.
 */
export const transferLocalPlugin: Plugin<Transferrer> = {
  type: pluginTypes.transfer,
  id: "local",
  requires: [pluginTypes.metadata, pluginTypes.differ, pluginTypes.streaming],
  platforms: [hostPlatform],
  init: (context) => {
    const metadata = context.get(pluginTypes.metadata);
    const differ = context.get<Differ>(pluginTypes.differ);
    let client: Promise<Client> | undefined;
    const dependencies: TransferDependencies = {
      streams: context.get(pluginTypes.streaming, "manager"),
      client: () =>
        (client ??= localClient(
          [
            metadataServices.content(metadata),
            metadataServices.images(metadata),
            metadataServices.leases(metadata),
            metadataServices.snapshots(metadata),
            diffService(differ),
          ],
          { namespace: "default", address: context.daemon.grpc.address },
          "transfer",
        )),
      hasSnapshotter: (name) => metadata.snapshotters.has(name),
      pull: async () => (await import("@berth/client/images")).pull,
    };
    return new LocalTransferService(dependencies);
  },
};

export const transferGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "transfer",
  requires: [pluginTypes.transfer, pluginTypes.streaming],
  init: (context) => grpcService(transferV1.TransferDefinition, transferHandlers(context.get(pluginTypes.transfer))),
};
