import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { PassThrough, type Readable, type Writable } from "node:stream";
import type { criV1 } from "@berth/api/cri";
import { AttachedIO, newFifoSet, processAny, removeFifos } from "@berth/client";
import type { CriContext } from "./context.js";
import { execProcess } from "./exec.js";

/**
 * The channels of Kubernetes' remote command protocol (exec and attach), whatever carries them
 * (SPDY streams or WebSocket channels): what the client sends on stdin and resize, where stdout
 * and stderr go, and the error channel that ends the exchange.
 */
export interface RemoteChannels {
  readonly stdin?: Readable | undefined;
  readonly stdout?: Writable | undefined;
  readonly stderr?: Writable | undefined;
  readonly resize?: Readable | undefined;
  /** The `error` channel; v4 writes a JSON status there. */
  writeError(text: string): void;
  /** Whether the v4 JSON status is spoken (v4.channel.k8s.io). */
  readonly v4: boolean;
  /** Resolves when the client went away. */
  readonly closed: Promise<void>;
  close(): void;
}

export const remoteCommandProtocols = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"];

/** v4's completion status; older versions write only an error's text. */
function reportExit(channels: RemoteChannels, exitCode: number | undefined, failure?: string): void {
  if (channels.v4) {
    let status: unknown = { metadata: {}, status: "Success" };
    if (failure !== undefined)
      status = { metadata: {}, status: "Failure", message: failure, reason: "InternalError", details: { causes: [{ message: failure }] }, code: 500 };
    else if (exitCode !== 0)
      status = {
        metadata: {},
        status: "Failure",
        message: `command terminated with non-zero exit code: error executing command [${exitCode}], exit code ${exitCode}`,
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
      };
    channels.writeError(JSON.stringify(status));
  } else if (failure !== undefined || exitCode !== 0) {
    channels.writeError(failure ?? `command terminated with non-zero exit code: ${exitCode}`);
  }
}

/** A stream of JSON terminal sizes, `{"Width":w,"Height":h}` one after another. */
function followResize(source: Readable | undefined, resize: (size: { width: number; height: number }) => void): void {
  if (source === undefined) return;
  let buffered = "";
  source.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    for (let end = buffered.indexOf("}"); end !== -1; end = buffered.indexOf("}")) {
      const text = buffered.slice(0, end + 1);
      buffered = buffered.slice(end + 1);
      try {
        const { Width, Height } = JSON.parse(text) as { Width?: number; Height?: number };
        if (Width && Height) resize({ width: Width, height: Height });
      } catch {
        // not a size
      }
    }
  });
}

const discard = () => new PassThrough().resume();

/** Exec: a new process in the container, its stdio on the channels; ends with its exit status. */
export async function runExec(context: CriContext, request: criV1.ExecRequest, channels: RemoteChannels): Promise<void> {
  const ctx = context.client.context();
  const execId = randomBytes(32).toString("hex");
  let fifos: Awaited<ReturnType<typeof newFifoSet>> | undefined;
  let attached: AttachedIO | undefined;
  try {
    const process = await execProcess(context, request.containerId, request.cmd, request.tty);
    fifos = await newFifoSet(join(context.state, "containers", request.containerId, "io"), execId, request.tty);
    const io = { stdin: request.stdin ? fifos.stdin : "", stdout: fifos.stdout, stderr: request.tty ? "" : fifos.stderr, terminal: request.tty };
    attached = AttachedIO.attach(io, { stdout: channels.stdout ?? discard(), stderr: channels.stderr ?? discard() });
    await context.client.tasks.exec(ctx, request.containerId, execId, processAny(process), io);
    const exited = context.client.tasks.wait(ctx, request.containerId, execId);
    await context.client.tasks.start(ctx, request.containerId, execId);
    if (channels.stdin !== undefined && request.stdin) attached.copyStdin(channels.stdin, () => context.client.tasks.closeIO(ctx, request.containerId, execId));
    followResize(channels.resize, (size) => void context.client.tasks.resizePty(ctx, request.containerId, size, execId).catch(() => undefined));
    const exit = await exited;
    await attached.wait(2000);
    reportExit(channels, exit.exitStatus);
  } catch (error) {
    reportExit(channels, undefined, (error as Error).message);
  } finally {
    attached?.close();
    await context.client.tasks.deleteProcess(ctx, request.containerId, execId).catch(() => undefined);
    if (fifos !== undefined) await removeFifos(fifos);
    channels.close();
  }
}

/** Attach: the container's own output (beside its log) and stdin, until it exits or the client leaves. */
export async function runAttach(context: CriContext, request: criV1.AttachRequest, channels: RemoteChannels): Promise<void> {
  const record = context.containers.get(request.containerId);
  const ctx = context.client.context();
  const sink = { stdout: channels.stdout, stderr: channels.stderr };
  record.attached ??= new Set();
  record.attached.add(sink);
  let stdin: AttachedIO | undefined;
  try {
    if (channels.stdin !== undefined && record.io !== undefined && record.io.stdin !== "") {
      stdin = AttachedIO.attach({ ...record.io, stdout: "", stderr: "" }, {});
      const once = record.config.stdinOnce;
      stdin.copyStdin(channels.stdin, async () => {
        if (once && !record.config.tty) await context.client.tasks.closeIO(ctx, record.id);
      });
    }
    followResize(channels.resize, (size) => void context.client.tasks.resizePty(ctx, record.id, size).catch(() => undefined));
    await Promise.race([record.exited, channels.closed]);
    reportExit(channels, 0);
  } finally {
    record.attached.delete(sink);
    stdin?.close();
    channels.close();
  }
}
