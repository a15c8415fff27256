import { type Mount, invalidArgument } from "@berth/api";
import { goJson } from "../spec/json.js";
import type { LayerOps } from "./layer-ops.js";

export const windowsLayerMountType = "windows-layer";
const parentLayerPathsFlag = "parentLayerPaths=";

/**
 * The two shapes containerd's `windows` snapshotter gives its one mount:
 * - "1.6" (1.6.20 to 1.7.1): options always `[rw|ro, parentLayerPaths=<json>]` (`null` without
 *   parents); a view with parents mounts its nearest parent as the source, the rest as parents.
 * - "1.7" (1.7.2 and later): the source is always the snapshot's own directory, options `[rw|ro]`
 *   plus `parentLayerPaths=<json>` only when it has parents.
 * The JSON is Go's json.Marshal (`&`, `<`, `>` escaped).
 */
export type MountShape = "1.6" | "1.7";

export function windowsLayerMount(shape: MountShape, kind: "active" | "view", own: string, parents: readonly string[]): Mount {
  const flag = kind === "view" ? "ro" : "rw";
  const json = (paths: readonly string[]) => `${parentLayerPathsFlag}${goJson(paths.length === 0 ? null : paths)}`;
  if (shape === "1.7") return { type: windowsLayerMountType, source: own, options: parents.length === 0 ? [flag] : [flag, json(parents)] };
  const [nearest, ...rest] = parents;
  const [source, sourceParents] = kind === "view" && nearest !== undefined ? [nearest, rest] : [own, parents];
  return { type: windowsLayerMountType, source, options: [flag, json(sourceParents)] };
}

/** The parent layer paths a `windows-layer` mount names (containerd's Mount.GetParentPaths). */
export function parentLayerPaths(mount: Mount): string[] {
  const option = mount.options.find((o) => o.startsWith(parentLayerPathsFlag));
  if (option === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(option.slice(parentLayerPathsFlag.length));
  } catch {
    throw invalidArgument(`mount option ${parentLayerPathsFlag}: not JSON`);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === "string")) throw invalidArgument(`mount option ${parentLayerPathsFlag}: not a list of paths`);
  return parsed;
}

/**
 * Mounts a `windows-layer` mount on `target` as containerd 1.7.2+ does on Windows: activate and
 * prepare the layer over its parents, then map its mount path onto `target` with the bind filter
 * and remember the layer in `target:containerd.io-source`. Any step that fails undoes the earlier ones.
 */
export async function mountWindowsLayer(ops: LayerOps, mount: Mount, target: string): Promise<void> {
  if (mount.type !== windowsLayerMountType) throw invalidArgument(`invalid windows mount type: '${mount.type}'`);
  const parents = parentLayerPaths(mount);
  const readOnly = mount.options.includes("ro");
  const undo: (() => Promise<void>)[] = [];
  try {
    await ops.activateLayer(mount.source);
    undo.push(() => ops.deactivateLayer(mount.source));
    await ops.prepareLayer(mount.source, parents);
    undo.push(() => ops.unprepareLayer(mount.source));
    await ops.applyBindFilter(await ops.getLayerMountPath(mount.source), target, readOnly);
    undo.push(() => ops.removeBindFilter(target));
    await ops.writeSourceStream(target, mount.source);
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    throw error;
  }
}

/** Undoes `mountWindowsLayer` on `target`: the bind filter, then the layer found in its source stream. */
export async function unmountWindowsLayer(ops: LayerOps, target: string): Promise<void> {
  const layer = await ops.readSourceStream(target);
  await ops.removeBindFilter(target);
  await ops.unprepareLayer(layer);
  await ops.deactivateLayer(layer);
  await ops.removeSourceStream(target);
}
