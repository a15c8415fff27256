import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, link, mkdir, mkdtemp, rm, rmdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { Mount } from "@berth/api";
import { mountAll, unmountAll } from "@berth/mount";
import {
  type LayerOps,
  type LayerWriter,
  decodeBackupStream,
  fileAttributeDirectory,
  mountWindowsLayer,
  streamIds,
  unmountWindowsLayer,
} from "@berth/runtime-windows";

const run = promisify(execFile);
const sourceStream = "containerd.io-source";

/**
 * A model of Windows layer directories on a Linux disk, for tests: each layer keeps its whole
 * tree in `<layer>/Files` (a scratch gets a copy of its nearest parent's when first prepared, as
 * the native snapshotter copies), virtual disks are marker files, the bind filter is a real bind
 * mount, and the source stream a file `<target>:containerd.io-source`. Every call is logged in `calls`.
 */
export class DiskLayerOps implements LayerOps {
  readonly calls: string[] = [];
  readonly #active = new Set<string>();

  #log(call: string, ...args: readonly unknown[]): void {
    this.calls.push(`${call}(${args.map((a) => JSON.stringify(a)).join(", ")})`);
  }

  async isNtfs(): Promise<boolean> {
    return true;
  }
  async copyScratchDisk(from: string, to: string): Promise<void> {
    this.#log("copyScratchDisk", from, to);
    await copyFile(from, to);
  }
  async expandSandboxSize(layer: string, bytes: number): Promise<void> {
    this.#log("expandSandboxSize", layer, bytes);
    await writeFile(join(layer, "sandbox.size"), String(bytes));
  }
  async convertToBaseLayer(layer: string): Promise<void> {
    this.#log("convertToBaseLayer", layer);
    await mkdir(join(layer, "Files"), { recursive: true });
    await writeFile(join(layer, "blank.vhdx"), "");
  }
  async convertScratchToReadOnlyLayer(layer: string, parents: readonly string[]): Promise<void> {
    this.#log("convertScratchToReadOnlyLayer", layer, parents);
    await this.#seed(layer, parents);
  }
  async destroyLayer(layer: string): Promise<void> {
    this.#log("destroyLayer", layer);
    await rm(layer, { recursive: true, force: true });
  }
  async activateLayer(layer: string): Promise<void> {
    this.#log("activateLayer", layer);
    this.#active.add(layer);
  }
  async prepareLayer(layer: string, parents: readonly string[]): Promise<void> {
    this.#log("prepareLayer", layer, parents);
    if (!this.#active.has(layer)) throw new Error(`prepareLayer: ${layer} is not active`);
    await this.#seed(layer, parents);
  }
  async unprepareLayer(layer: string): Promise<void> {
    this.#log("unprepareLayer", layer);
  }
  async deactivateLayer(layer: string): Promise<void> {
    this.#log("deactivateLayer", layer);
    this.#active.delete(layer);
  }
  async getLayerMountPath(layer: string): Promise<string> {
    return join(layer, "Files");
  }
  async applyBindFilter(source: string, target: string, readOnly: boolean): Promise<void> {
    this.#log("applyBindFilter", source, target, readOnly);
    await mountAll([{ type: "bind", source, options: ["rbind", readOnly ? "ro" : "rw"] }], target);
  }
  async removeBindFilter(target: string): Promise<void> {
    this.#log("removeBindFilter", target);
    await unmountAll(target);
  }
  async writeSourceStream(target: string, layer: string): Promise<void> {
    await writeFile(`${target}:${sourceStream}`, layer);
  }
  async readSourceStream(target: string): Promise<string> {
    return readFile(`${target}:${sourceStream}`, "utf8");
  }
  async removeSourceStream(target: string): Promise<void> {
    await rm(`${target}:${sourceStream}`, { force: true });
  }

  async newLayerWriter(layer: string, parents: readonly string[]): Promise<LayerWriter> {
    this.#log("newLayerWriter", layer, parents);
    await this.#seed(layer, parents);
    const local = (name: string) => join(layer, ...name.split("/"));
    return {
      add: async (name, info, stream) => {
        const path = local(name);
        await mkdir(dirname(path), { recursive: true });
        if ((info.fileAttributes & fileAttributeDirectory) !== 0) {
          await mkdir(path, { recursive: true });
          return;
        }
        await writeFile(path, "");
        for (const record of decodeBackupStream(stream)) {
          if (record.id === streamIds.data) await writeFile(path, record.data);
          else if (record.id === streamIds.alternateData) await writeFile(`${path}${record.name.replace(/:\$DATA$/, "")}`, record.data);
        }
      },
      addLink: async (name, target) => {
        await rm(local(name), { force: true });
        await link(local(target), local(name));
      },
      remove: async (name) => {
        await rm(local(name), { recursive: true, force: true });
      },
      close: async () => {
        if (parents.length === 0) await writeFile(join(layer, "blank.vhdx"), "");
      },
    };
  }

  /** Gives `layer` its tree, a copy of its nearest parent's, unless it has one. */
  async #seed(layer: string, parents: readonly string[]): Promise<void> {
    const files = join(layer, "Files");
    if (existsSync(files)) return;
    await mkdir(files, { mode: 0o755 });
    const [nearest] = parents;
    if (nearest !== undefined) await run("cp", ["-a", `${join(nearest, "Files")}/.`, files]);
  }
}

/** The harness's mount runner for `windows-layer` mounts over `ops` (what containerd's mount does on Windows). */
export function windowsMountRunner(ops: LayerOps) {
  return async <T>(mounts: readonly Mount[], fn: (dir: string) => T | Promise<T>, tempDir: string): Promise<T> => {
    if (mounts.length !== 1) throw new Error(`expected one windows-layer mount, got ${mounts.length}`);
    const target = await mkdtemp(join(tempDir, "berth-mount-"));
    try {
      await mountWindowsLayer(ops, mounts[0]!, target);
      try {
        return await fn(target);
      } finally {
        await unmountWindowsLayer(ops, target);
      }
    } finally {
      await rmdir(target);
    }
  };
}
