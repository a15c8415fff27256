import { unlink } from "node:fs/promises";
import { type CallContext, type Exit, type Publisher, isKind, nowTimestamp } from "@berth/api";
import { knownTypes } from "@berth/api/known-types";
import { taskV2 } from "@berth/api/proto";
import { TtrpcClient, socketPathOf, ttrpcServiceClient } from "@berth/ttrpc";
import { type ShimInvocation, runShimDelete } from "./binary.js";
import type { Bundle } from "./bundle.js";
import type { ShimPlatform } from "./platform.js";
import { type ShimTaskService, ShimTask } from "./shim-task.js";

export interface RuntimeLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

const types = knownTypes();

/**
 * One task's shim as the manager holds it: the bundle, the ttrpc connection, the log reader. When
 * the connection closes without the manager asking for it, the shim is treated as dead.
 */
export class ShimHandle {
  #deleting = false;
  #closing = false;
  readonly task: ShimTask;

  constructor(
    readonly bundle: Bundle,
    readonly invocation: ShimInvocation,
    readonly client: TtrpcClient,
    readonly stopLog: () => void,
    runtime: string,
    pid: number,
  ) {
    this.task = new ShimTask(ttrpcServiceClient(taskV2.TaskDefinition, client), bundle.namespace, bundle.id, runtime, pid);
  }

  get service(): ShimTaskService {
    return ttrpcServiceClient(taskV2.TaskDefinition, this.client, { namespace: this.bundle.namespace });
  }

  /** Calls `onDead` once if the connection ends while nobody is deleting or closing this shim. */
  watch(onDead: (handle: ShimHandle) => void): void {
    void this.client.closed.then(() => {
      if (!this.#deleting && !this.#closing) onDead(this);
    });
  }

  set deleting(value: boolean) {
    this.#deleting = value;
  }

  /** Lets go of the shim without stopping it (the daemon is shutting down; the container runs on). */
  detach(): void {
    this.#closing = true;
    this.client.close();
    this.stopLog();
  }

  /** Asks the shim to exit and waits (bounded) for its connection to end. */
  async shutdown(): Promise<void> {
    this.#deleting = true;
    await shutdownShim(this.client, this.bundle.namespace, this.bundle.id);
    this.stopLog();
  }
}

/** Shutdown{id}: the shim exits once it serves no task; waits (bounded) for the connection to end. */
export async function shutdownShim(client: TtrpcClient, namespace: string, id: string): Promise<void> {
  await ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace })
    .shutdown({ id, now: false }, { timeoutMs: 10_000 })
    .catch(() => undefined);
  await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  client.close();
}

/** Relays the shim's log, as the platform opens it, to the logger. */
export function followLog(platform: ShimPlatform, bundle: Bundle, logger: RuntimeLogger | undefined): () => void {
  return platform.followLog(bundle, (line) => logger?.debug({ namespace: bundle.namespace, id: bundle.id, shim: line }, "shim log"));
}

/** How long dialling a shim's ttrpc address may take. */
export const shimDialTimeoutMs = 5_000;

/** Connects to a shim's ttrpc address and checks it answers for `id` (Connect). */
export async function connectShim(
  address: string,
  namespace: string,
  id: string,
  timeoutMs = shimDialTimeoutMs,
  dial: (address: string, timeoutMs: number) => Promise<TtrpcClient> = (to, ms) => TtrpcClient.connect(to, ms),
): Promise<{ client: TtrpcClient; taskPid: number }> {
  const client = await dial(address, timeoutMs);
  try {
    const connected = await ttrpcServiceClient(taskV2.TaskDefinition, client, { namespace }).connect({ id }, { timeoutMs });
    return { client, taskPid: connected.taskPid };
  } catch (error) {
    client.close();
    throw error;
  }
}

/**
 * After a shim died (or could not be reached again): runs its `delete` command, removes the
 * bundle, and publishes the exit and delete events containerd publishes for it. An exit the shim
 * could not report is 255 at the current time.
 */
export async function cleanupDeadShim(
  bundle: Bundle,
  invocation: ShimInvocation | undefined,
  publisher: Publisher | undefined,
  logger: RuntimeLogger | undefined,
  knownPid = 0,
  removeSocket: (address: string) => Promise<void> = removeDeadSocket,
): Promise<Exit> {
  let exit: Exit = { pid: knownPid, status: 255, timestamp: nowTimestamp() };
  if (invocation !== undefined) {
    try {
      const response = await runShimDelete(invocation);
      exit = { pid: response.pid || knownPid, status: response.exitStatus, timestamp: response.exitedAt ?? nowTimestamp() };
    } catch (error) {
      logger?.warn({ namespace: bundle.namespace, id: bundle.id, err: error }, "cleanup of dead shim failed");
    }
  }
  const address = await bundle.read("address");
  if (address !== undefined) await removeSocket(address.trim());
  await bundle.delete().catch((error: unknown) => logger?.warn({ namespace: bundle.namespace, id: bundle.id, err: error }, "failed to remove bundle"));
  if (publisher !== undefined) {
    const context: CallContext = { namespace: bundle.namespace };
    const event = { containerId: bundle.id, pid: exit.pid, exitStatus: exit.status, exitedAt: exit.timestamp };
    await publisher.publish(context, "/tasks/exit", types.pack("containerd.events.TaskExit", { ...event, id: bundle.id })).catch(() => undefined);
    await publisher.publish(context, "/tasks/delete", types.pack("containerd.events.TaskDelete", { ...event, id: "" })).catch(() => undefined);
  }
  logger?.info({ namespace: bundle.namespace, id: bundle.id, exitStatus: exit.status }, "cleaned up dead shim");
  return exit;
}

/** A killed shim leaves its socket file behind (the stock shim's `delete` does not remove it). */
export async function removeDeadSocket(address: string): Promise<void> {
  const path = socketPathOf(address);
  if (!path.startsWith("/")) return;
  const answers = await TtrpcClient.connect(path, 1000).then(
    (client) => (client.close(), true),
    () => false,
  );
  if (!answers) await unlink(path).catch(() => undefined);
}

/** Whether a failure means the shim is gone rather than that the request was refused. */
export function shimGone(error: unknown): boolean {
  return isKind(error, "Unavailable");
}
