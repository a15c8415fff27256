import { readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { isKind } from "@berth/api";
import { criV1 } from "@berth/api/cri";
import type { Containers } from "./containers.js";
import type { CriContext } from "./context.js";
import { netnsOpen } from "./netns.js";
import { type Sandboxes, kindLabel, unmountSandboxShm } from "./sandboxes.js";
import type { ContainerRecord, ContainerStatusRecord, SandboxRecord } from "./store.js";

interface SandboxMetadataJson {
  Metadata: {
    ID: string;
    Name: string;
    Config: unknown;
    NetNSPath: string;
    IP: string;
    AdditionalIPs: string[] | null;
    RuntimeHandler: string;
    CNIResult: unknown;
  };
}

interface ContainerMetadataJson {
  Metadata: { ID: string; Name: string; SandboxID: string; Config: unknown; ImageRef: string; LogPath: string; StopSignal: string };
}

const decode = <T>(value: Uint8Array | undefined): T | undefined => {
  try {
    return value === undefined ? undefined : (JSON.parse(Buffer.from(value).toString("utf8")) as T);
  } catch {
    return undefined;
  }
};

/**
 * containerd's CRI recovery at start: every sandbox and container of namespace `k8s.io` from its
 * record's metadata extension, with its task's state; running ones are waited for again.
 */
export async function recover(context: CriContext, sandboxes: Sandboxes, containers: Containers): Promise<void> {
  const { client } = context;
  const ctx = client.context();
  const records = await client.containers.list(ctx, [`labels."${kindLabel}"==sandbox`]);
  for (const container of records) {
    const json = decode<SandboxMetadataJson>(container.extensions["io.cri-containerd.sandbox.metadata"]?.value);
    if (json === undefined) continue;
    const m = json.Metadata;
    const netnsPath = (await netnsOpen(m.NetNSPath)) ? m.NetNSPath : "";
    const record: SandboxRecord = {
      id: m.ID,
      name: m.Name,
      config: criV1.PodSandboxConfig.fromJSON(m.Config),
      runtimeHandler: m.RuntimeHandler,
      netnsPath,
      ip: netnsPath === "" ? "" : m.IP,
      additionalIps: netnsPath === "" ? [] : (m.AdditionalIPs ?? []),
      cniResult: m.CNIResult,
      state: "notready",
      pid: 0,
      createdAt: container.createdAt.seconds * 1e9 + container.createdAt.nanos,
    };
    try {
      const task = await client.tasks.get(ctx, record.id);
      if (task.status === "running") {
        record.state = "ready";
        record.pid = task.pid;
        sandboxes.monitor(record);
      } else {
        await client.tasks.delete(ctx, record.id).catch(() => undefined);
      }
    } catch (error) {
      if (!isKind(error, "NotFound")) throw error;
    }
    context.sandboxes.add(record);
  }
  for (const container of await client.containers.list(ctx, [`labels."${kindLabel}"==container`])) {
    const json = decode<ContainerMetadataJson>(container.extensions["io.cri-containerd.container.metadata"]?.value);
    if (json === undefined) continue;
    const m = json.Metadata;
    let status: ContainerStatusRecord;
    try {
      const file = JSON.parse(await readFile(join(containers.paths(m.ID).root, "status"), "utf8")) as { Status: Record<string, number | string> };
      const s = file.Status;
      status = {
        pid: Number(s.Pid),
        createdAt: Number(s.CreatedAt),
        startedAt: Number(s.StartedAt),
        finishedAt: Number(s.FinishedAt),
        exitCode: Number(s.ExitCode),
        reason: String(s.Reason ?? ""),
        message: String(s.Message ?? ""),
      };
    } catch {
      status = {
        pid: 0,
        createdAt: container.createdAt.seconds * 1e9,
        startedAt: 0,
        finishedAt: Date.now() * 1e6,
        exitCode: 255,
        reason: "Unknown",
        message: "",
        unknown: true,
      };
    }
    const config = criV1.ContainerConfig.fromJSON(m.Config);
    const record: ContainerRecord = {
      id: m.ID,
      name: m.Name,
      sandboxId: m.SandboxID,
      config,
      imageRef: m.ImageRef,
      imageName: (await context.images.resolve(m.ImageRef))?.repoTags[0] ?? config.image?.image ?? "",
      logPath: m.LogPath,
      stopSignal: m.StopSignal,
      status,
    };
    try {
      const task = await client.tasks.get(ctx, record.id);
      if (task.status === "running") {
        if (record.status.startedAt === 0) record.status.startedAt = Date.now() * 1e6;
        record.status.finishedAt = 0;
        await containers.reattach(record, task);
        containers.monitor(record, client.tasks.wait(ctx, record.id));
      } else if (task.status === "stopped") {
        const exit = await client.tasks.delete(ctx, record.id);
        Object.assign(record.status, { finishedAt: Date.now() * 1e6, exitCode: exit.exitStatus, pid: 0 });
      } else {
        await client.tasks.delete(ctx, record.id).catch(() => undefined);
      }
    } catch (error) {
      if (!isKind(error, "NotFound")) throw error;
      if (record.status.startedAt !== 0 && record.status.finishedAt === 0)
        Object.assign(record.status, { finishedAt: Date.now() * 1e6, exitCode: 255, reason: "Unknown", pid: 0 });
    }
    await containers.saveStatus(record).catch(() => undefined);
    context.containers.add(record);
  }
  await removeOrphanDirectories(context);
}

/** Directories under the CRI's root and state that no sandbox or container owns any more (containerd's cleanupOrphanedIDDirs). */
export async function removeOrphanDirectories(context: CriContext): Promise<void> {
  const owners = { sandboxes: context.sandboxes, containers: context.containers };
  for (const base of [context.root, context.state]) {
    for (const [kind, index] of Object.entries(owners)) {
      const directory = join(base, kind);
      for (const id of await readdir(directory).catch(() => [] as string[])) {
        if (index.find(id)?.id === id) continue;
        if (kind === "sandboxes") await unmountSandboxShm(join(directory, id, "shm"));
        await rm(join(directory, id), { recursive: true, force: true });
      }
    }
  }
}
