import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Writable } from "node:stream";
import { errorOfKind, failedPrecondition, unpackJson } from "@berth/api";
import { criV1 } from "@berth/api/cri";
import { AttachedIO, type OciProcess, type OciSpec, newFifoSet, processAny, removeFifos } from "@berth/client";
import { containerState } from "./containers.js";
import type { CriContext } from "./context.js";

/** containerd keeps at most this much of each stream of an ExecSync. */
const maxOutput = 16 << 20;

class Capped extends Writable {
  readonly chunks: Buffer[] = [];
  #size = 0;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    if (this.#size < maxOutput) {
      const kept = chunk.subarray(0, maxOutput - this.#size);
      this.chunks.push(kept);
      this.#size += kept.length;
    }
    callback();
  }
}

export interface ExecOptions {
  readonly cmd: readonly string[];
  readonly tty?: boolean;
  /** Seconds; 0 waits for ever. */
  readonly timeout?: number;
}

/** The container's process spec with another command: what an exec runs. */
export async function execProcess(context: CriContext, containerId: string, cmd: readonly string[], tty: boolean): Promise<OciProcess> {
  const container = await context.client.containers.get(context.client.context(), containerId);
  const spec = unpackJson<OciSpec>(container.spec!);
  const process: OciProcess = { ...spec.process!, args: [...cmd], terminal: tty };
  if (tty) process.env = [...(process.env ?? []).filter((e) => !e.startsWith("TERM=")), "TERM=xterm"];
  return process;
}

/** ExecSync: runs `cmd` in the container, collecting its output; DeadlineExceeded (and the process killed) past the timeout. */
export async function execSync(context: CriContext, request: criV1.ExecSyncRequest): Promise<criV1.ExecSyncResponse> {
  const record = context.containers.get(request.containerId);
  const state = containerState(record.status);
  if (state !== criV1.ContainerState.CONTAINER_RUNNING) throw failedPrecondition(`container is in ${criV1.containerStateToJSON(state)} state`);
  const ctx = context.client.context();
  const execId = randomBytes(32).toString("hex");
  const process = await execProcess(context, record.id, request.cmd, false);
  const fifos = await newFifoSet(join(context.state, "containers", record.id, "io"), execId, false);
  const stdout = new Capped();
  const stderr = new Capped();
  const io = { stdin: "", stdout: fifos.stdout, stderr: fifos.stderr, terminal: false };
  const attached = AttachedIO.attach(io, { stdout, stderr });
  try {
    await context.client.tasks.exec(ctx, record.id, execId, processAny(process), io);
    const exited = context.client.tasks.wait(ctx, record.id, execId);
    await context.client.tasks.start(ctx, record.id, execId);
    let timer: NodeJS.Timeout | undefined;
    const timeout = Number(request.timeout);
    const outcome = await Promise.race([
      exited.then((exit) => ({ exit })),
      ...(timeout > 0 ? [new Promise<{ exit?: undefined }>((resolve) => (timer = setTimeout(() => resolve({}), timeout * 1000)))] : []),
    ]);
    clearTimeout(timer);
    if (outcome.exit === undefined) {
      await context.client.tasks.kill(ctx, record.id, 9, { execId }).catch(() => undefined);
      await exited.catch(() => undefined);
      await attached.wait(1000);
      throw errorOfKind("DeadlineExceeded", `failed to exec in container: timeout ${timeout}s exceeded: context deadline exceeded`);
    }
    await attached.wait(2000);
    return { stdout: Buffer.concat(stdout.chunks), stderr: Buffer.concat(stderr.chunks), exitCode: outcome.exit.exitStatus };
  } finally {
    attached.close();
    await context.client.tasks.deleteProcess(ctx, record.id, execId).catch(() => undefined);
    await removeFifos({ ...io, stdin: fifos.stdin });
  }
}
