import type { ContentStore, Snapshotter } from "@berth/api";
import { contentV1, snapshotsV1 } from "@berth/api/proto";
import { contentHandlers } from "./grpc/content.js";
import { snapshotterHandlers } from "./grpc/snapshots.js";
import { grpcService } from "./plugins/types.js";
import { type RunningServer, serveGrpc } from "./server.js";

/** Where an out-of-tree plugin listens, for a daemon's `[proxy_plugins]` to dial. */
export interface ProxyServeOptions {
  /** The unix socket (a stale one left by a dead server is replaced; a live one is an error). */
  readonly address: string;
  /** Owner of the socket, which is mode 0660; default: this process's uid and gid. */
  readonly uid?: number;
  readonly gid?: number;
}

const messageSize = 16 << 20;

function serveOne(service: ReturnType<typeof grpcService>, options: ProxyServeOptions): Promise<RunningServer> {
  return serveGrpc([service], {
    address: options.address,
    uid: options.uid ?? process.getuid?.() ?? 0,
    gid: options.gid ?? process.getgid?.() ?? 0,
    maxReceiveMessageSize: messageSize,
    maxSendMessageSize: messageSize,
  });
}

/**
 * Serves `snapshotter` as containerd's Snapshots service on a unix socket, as an out-of-tree
 * snapshotter does: berthd (or containerd) reaches it through `[proxy_plugins.<name>] type = "snapshot"`.
 * Requests are served whatever snapshotter name they carry.
 */
export function serveSnapshotter(options: ProxyServeOptions & { readonly snapshotter: Snapshotter }): Promise<RunningServer> {
  return serveOne(grpcService(snapshotsV1.SnapshotsDefinition, snapshotterHandlers(options.snapshotter)), options);
}

/** Serves `store` as containerd's Content service on a unix socket, for `[proxy_plugins.<name>] type = "content"`. */
export function serveContentStore(options: ProxyServeOptions & { readonly store: ContentStore }): Promise<RunningServer> {
  return serveOne(grpcService(contentV1.ContentDefinition, contentHandlers(options.store)), options);
}
