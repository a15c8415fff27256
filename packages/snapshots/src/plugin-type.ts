import type { Snapshotter } from "@berth/api";
import { pluginType } from "@berth/plugin";

/** containerd's snapshotter plugin type: every snapshotter plugin gives a `Snapshotter`. */
export const snapshotterPluginType = pluginType<Snapshotter>("io.containerd.snapshotter.v1");
