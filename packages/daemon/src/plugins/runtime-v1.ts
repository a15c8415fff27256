import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Publisher, Subscriber } from "@berth/api";
import { LinuxRuntime } from "@berth/runtime-linux";
import type { Plugin } from "./registry.js";
import { hostPlatform, pluginTypes } from "./types.js";

/** containerd's `[plugins."io.containerd.runtime.v1.linux"]`. */
export interface RuntimeV1Config {
  /** The shim binary, a path or a name looked up on $PATH. */
  shim: string;
  /** The OCI runtime binary the shim runs, unless a container's RuncOptions name one. */
  runtime: string;
  /** runc's root; "" means `<state>/runc` (containerd's "" means /run/containerd/runc). */
  runtime_root: string;
  /** containerd's in-process shim; not supported (a true value is refused). */
  no_shim: boolean;
  /** The shims' `-debug`, and their logs in berthd's. */
  shim_debug: boolean;
}

/** What the shim runs for `publish`: berthd's executable, which has containerd's `publish` command. */
const berthdExecutable = fileURLToPath(new URL("../../bin/berthd.js", import.meta.url));

/**
 * containerd's runtime v1 (`io.containerd.runtime.v1.linux`): Debian's stock `containerd-shim` per
 * task. The Tasks service uses it for containers whose runtime name is its id.
 */
export const runtimeV1Plugin: Plugin<LinuxRuntime, RuntimeV1Config> = {
  type: pluginTypes.runtimeV1,
  id: "linux",
  requires: [pluginTypes.event],
  platforms: [hostPlatform],
  config: { shim: "containerd-shim", runtime: "runc", runtime_root: "", no_shim: false, shim_debug: false },
  init: async ({ root, state, config, daemon, logger, exports, get }) => {
    if (config.no_shim) throw new Error("no_shim: the in-process shim is not supported");
    exports.root = root;
    exports.state = state;
    return LinuxRuntime.open({
      state,
      root,
      address: daemon.grpc.address,
      containerdBinary: berthdExecutable,
      socketDirectory: join(dirname(daemon.grpc.address), "s"),
      shim: config.shim,
      runtime: config.runtime,
      runtimeRoot: config.runtime_root || join(daemon.state, "runc"),
      publisher: get<Publisher>(pluginTypes.event),
      events: get<Subscriber>(pluginTypes.event),
      logger,
      shimDebug: config.shim_debug,
    });
  },
  // The daemon lets go of its shims; their containers keep running.
  close: (runtime) => runtime.close(),
};
