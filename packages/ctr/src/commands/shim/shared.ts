import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import * as Flags from "@oclif/core/flags";
import type { Client } from "@berth/client";
import type { taskV2 } from "@berth/api/proto";
import type { TtrpcClient, TtrpcServiceClient } from "@berth/ttrpc";

export const shimFlags = { id: Flags.string({ description: "container id" }) };

const hash = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The sockets a container's shim may listen on: containerd's (`/run/containerd/s/<sha256(address/ns/id)>`,
 * where Debian's stock shim listens whichever daemon started it), then Berth's shim's, which
 * serves a group of containers (`<daemon socket's directory>/s/<sha256(address/ns/group)>`; the
 * group is the container's group annotation, else its namespace).
 */
function* shimSockets(target: ShimTarget, id: string): Generator<string | (() => Promise<string>)> {
  const address = target.address.replace(/^unix:\/\//, "");
  const namespace = target.namespace;
  yield join("/run/containerd/s", hash(join(address, namespace, id)));
  const berthSocket = (group: string, shimCgroup = "") =>
    join(dirname(address), "s", hash(`${address}/${namespace}/${group}${shimCgroup === "" ? "" : `\nshim_cgroup=${shimCgroup}`}`));
  yield berthSocket(namespace);
  // Only then the daemon is asked for the container's group (its spec's annotations) and shim cgroup.
  yield async () => {
    const client = await target.connect();
    const { unpackJson } = await import("@berth/api");
    const { runcV1 } = await import("@berth/api/proto");
    const container = await client.containers.get(client.context(), id);
    const annotations = container.spec === undefined ? {} : (unpackJson<{ annotations?: Record<string, string> }>(container.spec).annotations ?? {});
    const group = annotations["io.containerd.runc.v2.group"] || annotations["io.kubernetes.cri.sandbox-id"] || namespace;
    const options = container.runtime.options;
    const shimCgroup = options?.typeUrl.endsWith("containerd.runc.v1.Options") ? runcV1.Options.decode(options.value).shimCgroup : "";
    return berthSocket(group, shimCgroup);
  };
}

/** Where ctr's shim commands look: the daemon's address and namespace, and the daemon itself when needed. */
export interface ShimTarget {
  readonly address: string;
  readonly namespace: string;
  connect(): Promise<Client>;
}

/** The containerd.task.v2.Task service of the shim serving container `id` (ctr's getTaskService), and its connection. */
export async function shimTaskService(
  target: ShimTarget,
  id: string | undefined,
): Promise<{ connection: TtrpcClient; service: TtrpcServiceClient<typeof taskV2.TaskDefinition> }> {
  const proto = await import("@berth/api/proto");
  const { ttrpcServiceClient } = await import("@berth/ttrpc");
  const connection = await connectToShim(target, id);
  return { connection, service: ttrpcServiceClient(proto.taskV2.TaskDefinition, connection, { namespace: target.namespace }) };
}

async function connectToShim(target: ShimTarget, id: string | undefined): Promise<TtrpcClient> {
  if (!id) throw new Error("container id must be specified");
  const { TtrpcClient } = await import("@berth/ttrpc");
  for (const candidate of shimSockets(target, id)) {
    try {
      return await TtrpcClient.connect(typeof candidate === "string" ? candidate : await candidate(), 2_000);
    } catch {
      // not this one (or no daemon to ask)
    }
  }
  throw new Error(`fail to connect to container ${id}'s shim`);
}
