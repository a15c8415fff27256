import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { Flags } from "@oclif/core";
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
async function shimSockets(client: Client, id: string): Promise<string[]> {
  const address = client.address.replace(/^unix:\/\//, "");
  const namespace = client.namespace;
  const sockets = [join("/run/containerd/s", hash(join(address, namespace, id)))];
  const berthSocket = (group: string, shimCgroup = "") => join(dirname(address), "s", hash(`${address}/${namespace}/${group}${shimCgroup === "" ? "" : `\nshim_cgroup=${shimCgroup}`}`));
  sockets.push(berthSocket(namespace));
  try {
    const { unpackJson } = await import("@berth/api");
    const { runcV1 } = await import("@berth/api/proto");
    const container = await client.containers.get(client.context(), id);
    const annotations = container.spec === undefined ? {} : (unpackJson<{ annotations?: Record<string, string> }>(container.spec).annotations ?? {});
    const group = annotations["io.containerd.runc.v2.group"] || annotations["io.kubernetes.cri.sandbox-id"] || namespace;
    const options = container.runtime.options;
    const shimCgroup = options?.typeUrl.endsWith("containerd.runc.v1.Options") ? runcV1.Options.decode(options.value).shimCgroup : "";
    sockets.push(berthSocket(group, shimCgroup));
  } catch {
    // No daemon to ask: the sockets above are all there is to try.
  }
  return [...new Set(sockets)];
}

/** The containerd.task.v2.Task service of the shim serving container `id` (ctr's getTaskService), and its connection. */
export async function shimTaskService(client: Client, id: string | undefined): Promise<{ connection: TtrpcClient; service: TtrpcServiceClient<typeof taskV2.TaskDefinition> }> {
  const proto = await import("@berth/api/proto");
  const { ttrpcServiceClient } = await import("@berth/ttrpc");
  const connection = await connectToShim(client, id);
  return { connection, service: ttrpcServiceClient(proto.taskV2.TaskDefinition, connection, { namespace: client.namespace }) };
}

async function connectToShim(client: Client, id: string | undefined): Promise<TtrpcClient> {
  if (!id) throw new Error("container id must be specified");
  const { TtrpcClient } = await import("@berth/ttrpc");
  for (const socket of await shimSockets(client, id)) {
    try {
      return await TtrpcClient.connect(socket, 2_000);
    } catch {
      // not this one
    }
  }
  throw new Error(`fail to connect to container ${id}'s shim`);
}
