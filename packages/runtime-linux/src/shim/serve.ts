import { closeSync, writeSync } from "node:fs";
import { flushCompileCache } from "node:module";
import { type Socket, createServer } from "node:net";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import * as eventsTtrpcV1 from "@berth/api/gen/containerd/services/events/ttrpc/v1/events";
import * as taskV2 from "@berth/api/gen/containerd/task/v2/shim";
import { TtrpcClient, type TtrpcHandlers, TtrpcServer, ttrpcServiceClient } from "@berth/ttrpc";
import { joinCgroup } from "../cgroups/join.js";
import { EventQueue, type Forward } from "./events.js";
import type { ShimFlags } from "./flags.js";
import { ShimLog } from "./log.js";
import { PipeLog } from "./log-pipe.js";
import { Reaper } from "./reaper.js";
import { TaskService } from "./service.js";
import { lockGroup, readyWord, releaseGroup } from "./group-lock.js";

/** How long the server lingers with no container and no connection before it exits. */
const idleGraceMs = 1_000;
/** How long a server that nobody ever connected to waits for its first container. */
const unusedGraceMs = 60_000;
const readyFd = 3;

function forwardOverTtrpc(address: string, namespace: string): Forward {
  let client: TtrpcClient | undefined;
  return async (event) => {
    if (client === undefined || client.isClosed) client = await TtrpcClient.connect(address, 5_000);
    const events = ttrpcServiceClient(eventsTtrpcV1.EventsDefinition, client, { namespace, timeoutMs: 5_000 });
    await events.forward({ envelope: event });
  };
}

/**
 * The long-running shim server: serves `containerd.task.v2.Task` for every container of its
 * group on `flags.socket`, forwards events to the daemon's ttrpc address, and exits once it
 * serves no container and nobody is connected.
 */
export async function serveCommand(flags: ShimFlags): Promise<void> {
  // Before it serves anything, as containerd's shim is put there before it is told of any task.
  if (flags.shimCgroup !== "") joinCgroup(flags.shimCgroup, process.pid);
  const logPipe = process.env.BERTH_SHIM_LOG_PIPE;
  const log = logPipe ? new PipeLog(logPipe, flags.debug) : new ShimLog(join(process.cwd(), "log"), flags.debug);
  // A shim that dies takes its containers' exits and output with it: log what went wrong, go on.
  process.on("uncaughtException", (error) => log.write("error", `uncaught: ${error.stack ?? error.message}`));
  process.on("unhandledRejection", (error) => log.write("error", `unhandled rejection: ${String((error as Error)?.stack ?? error)}`));
  process.chdir("/");

  const reaper = new Reaper();
  reaper.start();
  const ttrpcAddress = process.env.TTRPC_ADDRESS ?? `${flags.address}.ttrpc`;
  const events = new EventQueue(flags.namespace, forwardOverTtrpc(ttrpcAddress, flags.namespace), (event, error) =>
    log.write("warning", "event dropped", { topic: event.topic, error: (error as Error).message }),
  );
  const connections = new Set<Socket>();
  let idleTimer: NodeJS.Timeout | undefined;
  // Until it has served a container or been told to shut down, a connection that closes (another
  // `start` checking that this server answers) leaves it waiting for its first container.
  let engaged = false;
  let compileCacheWritten = false;
  const service = new TaskService({
    namespace: flags.namespace,
    daemonAddress: flags.address,
    reaper,
    events,
    // The metrics types are most of the server's code: loaded on the first Stats call, not at start.
    stats: async (pid) => (await import("../cgroups/process.js")).cgroupMetricsOfPid(pid),
    onIdle: () => {
      engaged = true;
      checkIdle(idleGraceMs);
    },
  });

  const handlers = (connection: Socket): TtrpcHandlers<typeof taskV2.TaskDefinition> => ({
    state: (request) => service.state(request),
    create: async (request) => {
      const response = await service.create(request);
      if (!compileCacheWritten) {
        // Node writes its compile cache when the process exits, and a server may serve for days:
        // the next namespace's server starts from this one's compiled code. After the reply.
        compileCacheWritten = true;
        setImmediate(flushCompileCache);
      }
      engaged = true;
      followBundles();
      log.write("debug", "task created", { id: request.id, pid: response.pid });
      return response;
    },
    start: (request) => service.start(request),
    delete: async (request) => {
      const response = await service.delete(request);
      followBundles();
      log.write("debug", "process deleted", { id: request.id, exec: request.execId, status: response.exitStatus });
      return response;
    },
    pids: (request) => service.pids(request),
    pause: (request) => service.pause(request).then(() => ({})),
    resume: (request) => service.resume(request).then(() => ({})),
    checkpoint: (request) => service.checkpoint(request).then(() => ({})),
    kill: (request) => service.kill(request).then(() => ({})),
    exec: (request) => service.exec(request).then(() => ({})),
    resizePty: (request) => service.resizePty(request).then(() => ({})),
    closeIO: (request) => service.closeIO(request).then(() => ({})),
    update: (request) => service.update(request).then(() => ({})),
    wait: (request) => service.wait(request),
    stats: (request) => service.stats(request),
    connect: (request) => service.connect(request),
    // containerd's shim exits on Shutdown once it serves no task, which ends the caller's
    // connection; this one may serve others, so it ends just the caller's connection instead,
    // once the reply is on its way.
    shutdown: async (request) => {
      await service.shutdown(request);
      setImmediate(() => connection.end());
      return {};
    },
  });
  const server = createServer((socket) => {
    connections.add(socket);
    clearTimeout(idleTimer);
    socket.once("close", () => {
      connections.delete(socket);
      checkIdle(engaged ? idleGraceMs : unusedGraceMs);
    });
    // A server per connection, so that a handler knows whose call it serves (see shutdown).
    new TtrpcServer({ onError: (error) => log.write("warning", error.message) }).register(taskV2.TaskDefinition, handlers(socket)).serve(socket);
  });

  // The log FIFO of a deleted task's bundle has no reader any more.
  function followBundles(): void {
    log.follow(service.bundles.map((bundle) => join(bundle, "log")));
  }

  function checkIdle(graceMs: number): void {
    clearTimeout(idleTimer);
    if (service.size > 0 || connections.size > 0) return;
    idleTimer = setTimeout(() => {
      if (service.size === 0 && connections.size === 0) void exit();
    }, graceMs);
  }

  async function exit(): Promise<void> {
    // Held until the process ends: no `start` may find this server answering while it closes.
    // When the lock cannot be opened, the socket's directory is gone and nobody can reach this
    // server anyway.
    let lock: number | undefined | "none";
    try {
      lock = lockGroup(flags.socket, false);
    } catch {
      lock = "none";
    }
    if (lock === undefined) {
      checkIdle(idleGraceMs);
      return;
    }
    log.write("debug", "no container left: exiting");
    try {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.race([events.flushed(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
      reaper.stop();
      log.close();
    } finally {
      if (lock !== "none") releaseGroup(flags.socket, lock);
      process.exit(0);
    }
  }

  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(flags.socket, () => {
        server.removeListener("error", reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  checkIdle(unusedGraceMs);
  writeSync(readyFd, `${readyWord}\n`);
  closeSync(readyFd);
  // No compiler beyond the interpreter from here on (see serverNodeOptions): the work is copying
  // bytes between pipes, and compiled code is memory every server would keep.
  for (const flag of ["--no-opt", "--no-maglev", "--no-sparkplug"]) setFlagsFromString(flag);
}

/** Tells `start` why the server could not serve. */
export function reportStartFailure(error: unknown): void {
  try {
    writeSync(readyFd, `${(error as Error)?.message ?? String(error)}\n`.replace(/\n(?!$)/g, " "));
  } catch {
    // start has gone already
  }
}
