import { constants } from "node:os";
import type { Any, Container } from "@berth/api";
import type { Client, LayerDescriptor } from "@berth/client";
import type { TaskNetwork } from "./cni-network.js";
import { Console } from "./console.js";
import { followProcess, forwardStdin, newProcessIo, releaseStdin } from "./session.js";

export interface RunTaskOptions {
  readonly detach: boolean;
  readonly nullIo: boolean;
  readonly fifoDir: string;
  /** `file:///path` or `binary:///path?args`: the shim sends the output there (ctr's cio.LogURI). */
  readonly logUri?: string | undefined;
  /** Where to write the task's pid once it is created. */
  readonly pidFile?: string | undefined;
  /** ctr run's task options: no pivot_root, and the IO's owner from `--uidmap`/`--gidmap`. */
  readonly taskOptions?: { noPivotRoot: boolean; ioUid?: string | undefined; ioGid?: string | undefined };
  /** A task checkpoint to restore the task from (`containers restore --live`). */
  readonly checkpoint?: LayerDescriptor | undefined;
  /** `run --cni`: set up once the task exists (before it starts), removed when an attached run ends (before the task is deleted). */
  readonly network?: TaskNetwork | undefined;
}

/** runc's options for the task (containerd's WithNoPivotRoot, WithUIDOwner, WithGIDOwner); undefined when none is set. */
async function taskRuntimeOptions(container: Container, options: RunTaskOptions["taskOptions"]): Promise<Any | undefined> {
  if (options === undefined || (!options.noPivotRoot && !options.ioUid && !options.ioGid)) return undefined;
  const { runcV1 } = await import("@berth/api/proto");
  const { parseIdMapping } = await import("@berth/client");
  // containerd takes the host side of the mapping, and a mapping that does not parse as uid 0.
  const hostId = (mapping: string | undefined) => {
    try {
      return mapping ? parseIdMapping(mapping).hostID : 0;
    } catch {
      return 0;
    }
  };
  const runc = container.runtime?.name.startsWith("io.containerd.runc") ?? false;
  if (!runc) return undefined;
  const message = runcV1.Options.fromPartial({ noPivotRoot: options.noPivotRoot, ioUid: hostId(options.ioUid), ioGid: hostId(options.ioGid) });
  return { typeUrl: "containerd.runc.v1.Options", value: Buffer.from(runcV1.Options.encode(message).finish()) };
}

/** ctr's WritePidFile: the pid in decimal, written beside the file and renamed over it. */
async function writePidFile(path: string, pid: number): Promise<void> {
  const { open, rename } = await import("node:fs/promises");
  const { basename, dirname, join, resolve } = await import("node:path");
  const target = resolve(path);
  const temporary = join(dirname(target), `.${basename(target)}`);
  const file = await open(temporary, "wx", 0o666);
  try {
    await file.writeFile(String(pid));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, target);
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
  const io = await newProcessIo(container.id, { fifoDir: options.fifoDir, nullIo: options.nullIo, terminal: tty, logUri: options.logUri });
  terminal?.setRaw();
  let created = false;
  let started = false;
  try {
    const runtimeOptions = await taskRuntimeOptions(container, options.taskOptions);
    const pid = await createTask(client, context, container, io.paths, {
      ...(runtimeOptions === undefined ? {} : { runtimeOptions }),
      ...(options.checkpoint === undefined ? {} : { checkpoint: options.checkpoint }),
    });
    created = true;
    if (options.pidFile) await writePidFile(options.pidFile, pid);
    forwardStdin(client, context, io.attached, container.id);
    const exit = options.detach ? undefined : client.tasks.wait(context, container.id);
    exit?.catch(() => undefined);
    if (options.network) await options.network.setup(pid);
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
      if (created && !options.detach) await options.network?.remove();
      if (created) await client.tasks.delete(context, container.id).catch(() => undefined);
      await io.release();
    }
  }
}
