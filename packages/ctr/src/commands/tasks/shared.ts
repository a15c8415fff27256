import { constants } from "node:os";
import * as Flags from "@oclif/core/flags";
import type { Client, DeletedProcess, ProcessStatus } from "@berth/client";
import { goTimeString } from "../../format/go-values.js";

export const taskTopics = ["tasks", "task", "t"] as const;

/** Where ctr makes FIFOs unless told (containerd's ctr: /run/containerd/fifo). */
export const fifoDirFlag = { "fifo-dir": Flags.string({ description: "directory used for storing IO FIFOs" }) };

export async function fifoRoot(flag: string | undefined): Promise<string> {
  return flag || (await import("@berth/client")).defaultFifoRoot;
}

/** containerd's Status as ctr prints it with %v: `{running 0 0001-01-01 00:00:00 +0000 UTC}`. */
export const processStatusText = (process: ProcessStatus) => `{${process.status} ${process.exitStatus} ${goTimeString(process.exitedAt)}}`;

/** The container's task (containerd's container.Task): NotFound says there is no running task. */
export async function loadTask(client: Client, id: string): Promise<ProcessStatus> {
  const { isKind } = await import("@berth/api");
  await client.containers.get(client.context(), id);
  try {
    return await client.tasks.get(client.context(), id);
  } catch (error) {
    if (isKind(error, "NotFound")) throw new Error(`no running task found: ${(error as Error).message}`, { cause: error });
    throw error;
  }
}

/**
 * containerd's task.Delete: only a task that is not running (with `force`, after SIGKILL to all
 * its processes); the FIFOs it was created with are removed afterwards.
 */
export async function deleteTask(client: Client, id: string, options: { force?: boolean } = {}): Promise<DeletedProcess> {
  const { failedPrecondition, isKind } = await import("@berth/api");
  const { removeFifos } = await import("@berth/client");
  const context = client.context();
  if (options.force) {
    const exited = client.tasks.wait(context, id).catch(() => undefined);
    try {
      await client.tasks.kill(context, id, constants.signals.SIGKILL, { all: true });
      await exited;
    } catch (error) {
      if (isKind(error, "NotFound")) await exited;
      else if (!isKind(error, "FailedPrecondition")) throw error;
    }
  }
  const task = await client.tasks.get(context, id);
  if (task.status !== "stopped" && task.status !== "created" && task.status !== "unknown")
    throw failedPrecondition(`task must be stopped before deletion: ${task.status}`);
  const deleted = await client.tasks.delete(context, id);
  await removeFifos(task);
  return deleted;
}

/** The stop signal a container asks for (its image's), else SIGTERM. */
export async function stopSignal(client: Client, id: string): Promise<number> {
  const { stopSignalLabel } = await import("@berth/client");
  const { parseSignal } = await import("../../process/signals.js");
  const container = await client.containers.get(client.context(), id);
  return parseSignal(container.labels[stopSignalLabel] || "SIGTERM");
}
