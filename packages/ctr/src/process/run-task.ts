import { constants } from "node:os";
import type { Container } from "@berth/api";
import type { Client, LayerDescriptor } from "@berth/client";
import { Console } from "./console.js";
import { followProcess, forwardStdin, newProcessIo, releaseStdin } from "./session.js";

export interface RunTaskOptions {
  readonly detach: boolean;
  readonly nullIo: boolean;
  readonly fifoDir: string;
  /** A task checkpoint to restore the task from (`containers restore --live`). */
  readonly checkpoint?: LayerDescriptor | undefined;
}

/**
 * ctr's task phase of `run` and `tasks start`: FIFOs, Tasks.Create on the snapshot's mounts,
 * Wait before Start, then (unless detached) signals or terminal size passed on until the task
 * exits, and the task deleted. Resolves to the exit code (0 when detached). A task that was
 * created but could not be started or followed is deleted again; FIFOs never outlive an attached run.
 */
export async function runTask(client: Client, container: Container, options: RunTaskOptions): Promise<number> {
  const { createTask } = await import("@berth/client");
  const { unpackJson } = await import("@berth/api");
  const context = client.context();
  const tty = unpackJson<{ process?: { terminal?: boolean } }>(container.spec!).process?.terminal === true;
  const terminal = tty ? Console.current() : undefined;
  const io = await newProcessIo(container.id, { fifoDir: options.fifoDir, nullIo: options.nullIo, terminal: tty });
  terminal?.setRaw();
  let created = false;
  let started = false;
  try {
    await createTask(client, context, container, io.paths, options.checkpoint === undefined ? {} : { checkpoint: options.checkpoint });
    created = true;
    forwardStdin(client, context, io.attached, container.id);
    const exit = options.detach ? undefined : client.tasks.wait(context, container.id);
    exit?.catch(() => undefined);
    await client.tasks.start(context, container.id);
    started = true;
    if (exit === undefined) return 0;
    const status = await followProcess(client, context, { containerId: container.id }, exit, io.attached, terminal);
    return status.exitStatus;
  } catch (error) {
    // What could not be started is not left behind, running or not.
    if (created && !options.detach) await client.tasks.kill(context, container.id, constants.signals.SIGKILL, { all: true }).catch(() => undefined);
    throw error;
  } finally {
    terminal?.reset();
    releaseStdin();
    if (options.detach && started) {
      io.attached?.close();
    } else {
      if (created) await client.tasks.delete(context, container.id).catch(() => undefined);
      await io.release();
    }
  }
}
