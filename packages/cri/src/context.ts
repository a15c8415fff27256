import type { Client } from "@berth/client";
import type { PodNetworks } from "./pod-network.js";
import type { CriConfig } from "./config.js";
import type { CriImages } from "./images.js";
import type { ContainerRecord, IdIndex, SandboxRecord } from "./store.js";
import type { SnapshotUsageCache } from "./usage.js";

/** What the CRI's parts share: Berth's services in namespace k8s.io, its config, directories and stores. */
export interface CriContext {
  readonly client: Client;
  readonly config: CriConfig;
  /** `<berth root>/io.containerd.grpc.v1.cri` */
  readonly root: string;
  /** `<berth state>/io.containerd.grpc.v1.cri` */
  readonly state: string;
  readonly images: CriImages;
  readonly cni: PodNetworks;
  readonly usage: SnapshotUsageCache;
  readonly sandboxes: IdIndex<SandboxRecord>;
  readonly containers: IdIndex<ContainerRecord>;
  /** Set while the daemon shuts down: task waits then fail without the tasks having exited. */
  closing: boolean;
  /** Deletes a container record and its snapshot; absent ones are fine. */
  removeContainerRecord(id: string, snapshotter: string): Promise<void>;
}
