import { join } from "node:path";
import { type Runtime, invalidArgument } from "@berth/api";
import { tasksV1 } from "@berth/api/proto";
import type { Exchange } from "@berth/events";
import { ShimManager, type ShimPlatform, berthShimPath } from "@berth/runtime-linux";
import { ttrpcAddressOf } from "../config.js";
import { tasksHandlers } from "../grpc/tasks.js";
import { Runtimes } from "../runtimes.js";
import { TaskCheckpoints } from "../task-checkpoint.js";
import { TaskService } from "../tasks.js";
import type { Metadata } from "./core.js";
import type { InitContext, Plugin } from "./registry.js";
import { type GrpcService, grpcService, hostPlatform, pluginTypes } from "./types.js";

export interface RuntimeConfig {
  /** containerd's platform list for the runtime. */
  platforms: string[];
  /**
   * The shim binary per runtime name (a path, or a name looked up on $PATH); runtimes not listed
   * resolve as containerd's do (`io.containerd.<name>.<version>` → `containerd-shim-<name>-<version>`).
   */
  shims: Record<string, string>;
  /**
   * How many of Berth's shim servers berthd keeps started ahead of need, so that a namespace's
   * first task finds its server booted (0: none). Only when a runtime is served by Berth's shim.
   */
  spare_shims: number;
}

/**
 * The shim v2 core on the plugin's root and state, with the daemon's addresses, events, logger and
 * debug level, and `platform` (Linux's unless given): what the Linux and Windows runtime plugins share.
 */
export function openShimManager(
  { root, state, config, daemon, logger, exports, get }: InitContext<{ shims: Record<string, string>; spare_shims?: number }>,
  platform?: ShimPlatform,
): Promise<ShimManager> {
  const spareShims = config.spare_shims ?? 0;
  if (!Number.isSafeInteger(spareShims) || spareShims < 0) throw invalidArgument(`spare_shims: ${JSON.stringify(spareShims)} is not a count (0 or more)`);
  exports.root = root;
  exports.state = state;
  return ShimManager.open({
    state,
    root,
    address: daemon.grpc.address,
    ttrpcAddress: ttrpcAddressOf(daemon),
    runtimes: config.shims,
    runcRoot: join(daemon.state, "runc"),
    publisher: get<Exchange>(pluginTypes.event),
    logger,
    debug: daemon.debug.level === "debug" || daemon.debug.level === "trace",
    platform,
    spareShims: Object.values(config.shims).includes(berthShimPath) ? spareShims : 0,
  });
}

/** The shim v2 runtime: containerd's `io.containerd.runtime.v2.task`. */
export const runtimePlugin: Plugin<ShimManager, RuntimeConfig> = {
  type: pluginTypes.runtime,
  id: "task",
  requires: [pluginTypes.event],
  platforms: [hostPlatform],
  config: {
    platforms: [`${hostPlatform.os}/${hostPlatform.architecture}`],
    // Berth's own shim: one process serves a namespace's containers. `"containerd-shim-runc-v2"`
    // (Debian's stock shim) works too.
    shims: { "io.containerd.runc.v2": berthShimPath },
    // One of Berth's shim servers kept booted: the next namespace's first task skips ~55 ms of Node start.
    spare_shims: 1,
  },
  init: (context) => openShimManager(context),
  // The daemon lets go of its shims; their containers keep running.
  close: (manager) => manager.close(),
};

export const tasksGrpcPlugin: Plugin<GrpcService> = {
  type: pluginTypes.grpc,
  id: "tasks",
  requires: [pluginTypes.metadata, pluginTypes.runtime, pluginTypes.runtimeV1],
  init: ({ get, getAll, logger, root }) => {
    const metadata = get<Metadata>(pluginTypes.metadata);
    // containerd's tasks service: a runtime v1 serves the names that are its id, the v2 runtime all others.
    const v1 = [...getAll<Runtime>(pluginTypes.runtimeV1).values()].map((runtime) => [runtime.id, runtime] as const);
    const runtime = new Runtimes(new Map(v1), get<Runtime>(pluginTypes.runtime));
    const tasks = new TaskService(metadata.containers, runtime, metadata.snapshotters, logger);
    return grpcService(tasksV1.TasksDefinition, tasksHandlers(tasks, new TaskCheckpoints(tasks, metadata.containers, metadata.content, root)));
  },
};
