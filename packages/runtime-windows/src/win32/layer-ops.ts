import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { LayerOps, LayerWriter } from "../layers/layer-ops.js";
import { backupWriteFile, enableBackupPrivileges, filesystemOf, removeBindFilter, setupBindFilter } from "./system.js";
import * as vmcompute from "./vmcompute.js";

const sourceStream = "containerd.io-source";

/**
 * `LayerOps` on Windows: vmcompute.dll for layers, bindfltapi.dll for mounts, NTFS alternate data
 * streams through Node's own file calls (`path:stream` names work natively on NTFS). A layer is
 * imported the way hcsshim's legacy writer does: files written with BackupWrite under a staging
 * directory (`Files\…`, plus `tombstones.txt` for whiteouts), then ImportLayer moves them in.
 */
export function win32LayerOps(): LayerOps {
  return {
    isNtfs: async (path) => filesystemOf(path) === "NTFS",
    copyScratchDisk: (from, to) => copyFile(from, to),
    expandSandboxSize: async (layer, bytes) => vmcompute.expandSandboxSize(layer, bytes),
    convertToBaseLayer: async (layer) => vmcompute.processBaseImage(layer),
    convertScratchToReadOnlyLayer: async (layer, parents) => {
      const staging = await mkdtemp(join(dirname(layer), "export-"));
      try {
        vmcompute.exportLayer(layer, staging, parents);
        vmcompute.importLayer(layer, staging, parents);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    },
    destroyLayer: async (layer) => vmcompute.destroyLayer(layer),
    activateLayer: async (layer) => vmcompute.activateLayer(layer),
    prepareLayer: async (layer, parents) => vmcompute.prepareLayer(layer, parents),
    unprepareLayer: async (layer) => vmcompute.unprepareLayer(layer),
    deactivateLayer: async (layer) => vmcompute.deactivateLayer(layer),
    getLayerMountPath: async (layer) => vmcompute.getLayerMountPath(layer),
    applyBindFilter: async (source, target, readOnly) => setupBindFilter(source, target, readOnly),
    removeBindFilter: async (target) => removeBindFilter(target),
    writeSourceStream: (target, layer) => writeFile(`${target}:${sourceStream}`, layer),
    readSourceStream: async (target) => (await readFile(`${target}:${sourceStream}`, "utf8")).trim(),
    removeSourceStream: (target) => rm(`${target}:${sourceStream}`, { force: true }),
    newLayerWriter: async (layer, parents) => stagingWriter(layer, parents),
  };
}

async function stagingWriter(layer: string, parents: readonly string[]): Promise<LayerWriter> {
  enableBackupPrivileges();
  const staging = await mkdtemp(join(dirname(layer), "import-"));
  const tombstones: string[] = [];
  const local = (name: string) => join(staging, ...name.split("/"));
  return {
    add: async (name, _info, stream) => {
      await mkdir(dirname(local(name)), { recursive: true });
      backupWriteFile(local(name), stream);
    },
    addLink: async (name, target) => {
      await mkdir(dirname(local(name)), { recursive: true });
      await copyFile(local(target), local(name));
    },
    remove: async (name) => {
      tombstones.push(`\\${name.replace(/\//g, "\\")}`);
    },
    close: async () => {
      try {
        if (tombstones.length > 0) await writeFile(join(staging, "tombstones.txt"), `\ufeffVersion 1.0\n${tombstones.join("\n")}\n`);
        vmcompute.importLayer(layer, staging, parents);
        if (parents.length === 0) vmcompute.processBaseImage(layer);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    },
  };
}
