import { mkdirSync, renameSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type CallContext, type Mount, type SnapshotInfo, type SnapshotUsage, type Snapshotter, failedPrecondition, invalidArgument } from "@berth/api";
import { Metastore, type MetastoreReader, type StoredSnapshot, diskUsage } from "@berth/snapshots";
import type { LayerOps } from "./layer-ops.js";
import { type MountShape, windowsLayerMount } from "./mounts.js";

/** Labels containerd's windows snapshotter reads when it creates a snapshot. */
export const windowsSnapshotLabels = {
  /** "true": give the utility VM a scratch (`vm/sandbox.vhdx`, from the base's UtilityVM/SystemTemplate.vhdx). */
  uvmScratch: "containerd.io/snapshot/io.microsoft.vm.storage.scratch",
  /** Deprecated in 1.7: the scratch size in GB. */
  rootfsSizeGb: "containerd.io/snapshot/io.microsoft.container.storage.rootfs.size-gb",
  /** 1.7: the scratch size in bytes (wins over size-gb). */
  rootfsSizeBytes: "containerd.io/snapshot/windows/rootfs.sizebytes",
} as const;

/** containerd's snapshots.UnpackKeyPrefix: a key containing it is a layer being extracted. */
const unpackKeyPrefix = "extract";

export interface WindowsSnapshotterOptions {
  /** The mount shape to return: containerd 1.6's (default, as Berth is 1.6.20) or 1.7.2+'s. */
  readonly mountShape?: MountShape;
  /** Where a failure that is not the caller's (destroying a removed layer) is reported. */
  readonly log?: (message: string, error: unknown) => void;
}

/**
 * containerd's `windows` snapshotter over `LayerOps`: records in `<root>/metadata.db` (the shared
 * metastore), each snapshot a Windows layer directory `<root>/snapshots/<id>`; the root must be NTFS.
 *
 * - create: a key containing `extract-` gets only its directory (the differ imports into it); one
 *   without parents a `Files` directory; with parents a scratch: the last (base) parent's
 *   `blank.vhdx` copied to `sandbox.vhdx`, grown to the size a label asks, and a utility-VM scratch if asked.
 * - commit: `extract-` snapshots are final as imported; otherwise a parentless one becomes a base
 *   layer and a scratch is converted to a read-only layer.
 * - remove: the directory is renamed to `rm-<id>` in the transaction that drops the record (on a
 *   denial the layer is deactivated and the rename tried again), then destroyed; a failure to
 *   destroy is only logged.
 * - mounts: one `windows-layer` mount in the shape chosen (see `windowsLayerMount`).
 */
export class WindowsSnapshotter implements Snapshotter {
  readonly root: string;
  readonly snapshots: string;
  readonly #store: Metastore;
  readonly #shape: MountShape;
  readonly #log: (message: string, error: unknown) => void;

  private constructor(
    root: string,
    private readonly ops: LayerOps,
    options: WindowsSnapshotterOptions,
  ) {
    this.root = root;
    this.snapshots = join(root, "snapshots");
    mkdirSync(this.snapshots, { recursive: true, mode: 0o700 });
    this.#store = Metastore.open(join(root, "metadata.db"));
    this.#shape = options.mountShape ?? "1.6";
    this.#log = options.log ?? (() => undefined);
  }

  /** Opens (making what is missing) the snapshotter at `root`; InvalidArgument unless `root` is NTFS. */
  static async open(root: string, ops: LayerOps, options: WindowsSnapshotterOptions = {}): Promise<WindowsSnapshotter> {
    await mkdir(root, { recursive: true, mode: 0o700 });
    if (!(await ops.isNtfs(root))) throw invalidArgument(`${root} is not on an NTFS volume - only NTFS volumes are supported`);
    return new WindowsSnapshotter(root, ops, options);
  }

  dir(id: number): string {
    return join(this.snapshots, String(id));
  }

  async stat(_context: CallContext, key: string): Promise<SnapshotInfo> {
    return this.#store.view((tx) => tx.getInfo(key)).info;
  }

  async update(_context: CallContext, info: Pick<SnapshotInfo, "name" | "labels">, fieldpaths: readonly string[]): Promise<SnapshotInfo> {
    return this.#store.update((tx) => tx.updateInfo(info, fieldpaths));
  }

  async usage(_context: CallContext, key: string): Promise<SnapshotUsage> {
    const { id, info, usage } = this.#store.view((tx) => tx.getInfo(key));
    return info.kind === "active" ? diskUsage(this.dir(id)) : usage;
  }

  async mounts(_context: CallContext, key: string): Promise<Mount[]> {
    return [this.#mount(this.#store.view((tx) => tx.getSnapshot(key)))];
  }

  async prepare(_context: CallContext, key: string, parent: string, labels?: Readonly<Record<string, string>>): Promise<Mount[]> {
    return [this.#mount(await this.#create("active", key, parent, labels))];
  }

  async view(_context: CallContext, key: string, parent: string, labels?: Readonly<Record<string, string>>): Promise<Mount[]> {
    return [this.#mount(await this.#create("view", key, parent, labels))];
  }

  async commit(_context: CallContext, name: string, key: string, labels?: Readonly<Record<string, string>>): Promise<void> {
    const snapshot = this.#store.view((tx) => tx.getSnapshot(key));
    if (snapshot.kind !== "active") throw failedPrecondition(`snapshot ${JSON.stringify(key)} is not active`);
    const layer = this.dir(snapshot.id);
    if (!key.includes(unpackKeyPrefix)) {
      if (snapshot.parentIds.length === 0) await this.ops.convertToBaseLayer(layer);
      else await this.ops.convertScratchToReadOnlyLayer(layer, this.#paths(snapshot.parentIds));
    }
    const usage = await diskUsage(layer);
    this.#store.update((tx) => {
      if (tx.getInfo(key).id !== snapshot.id) throw failedPrecondition(`snapshot ${JSON.stringify(key)} changed during commit`);
      tx.commitActive(key, name, usage, labels);
    });
  }

  async remove(_context: CallContext, key: string): Promise<void> {
    let moved: string | undefined;
    await this.#withDeactivateRetry(key, () =>
      this.#store.update((tx) => {
        const { id } = tx.remove(key);
        moved = join(this.snapshots, `rm-${id}`);
        try {
          renameSync(this.dir(id), moved);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
          moved = undefined;
        }
      }),
    );
    if (moved !== undefined) await this.ops.destroyLayer(moved).catch((error: unknown) => this.#log(`failed to destroy removed layer ${moved}`, error));
  }

  async *list(_context: CallContext, filters: readonly string[]): AsyncIterable<SnapshotInfo> {
    yield* this.#store.view((tx) => tx.walk(filters));
  }

  /** Destroys every layer directory under snapshots/ that no record owns: crash leftovers (new-*, rm-*, an orphaned <id>). */
  async cleanup(_context: CallContext): Promise<void> {
    const ids = this.#store.view((tx) => tx.ids());
    for (const name of await readdir(this.snapshots)) {
      if (/^[1-9][0-9]*$/.test(name) && ids.has(Number(name))) continue;
      await this.ops.destroyLayer(join(this.snapshots, name)).catch((error: unknown) => this.#log(`failed to destroy layer ${name}`, error));
    }
  }

  async close(): Promise<void> {
    await this.#store.close();
  }

  /** Runs `rename`; a denial (the layer is still active) deactivates the layer and tries once more. */
  async #withDeactivateRetry(key: string, rename: () => void): Promise<void> {
    try {
      rename();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EACCES" && code !== "EPERM" && code !== "EBUSY") throw error;
      const { id } = this.#store.view((tx) => tx.getInfo(key));
      await this.ops.deactivateLayer(this.dir(id));
      rename();
    }
  }

  #paths(ids: readonly number[]): string[] {
    return ids.map((id) => this.dir(id));
  }

  #mount(snapshot: StoredSnapshot): Mount {
    return windowsLayerMount(this.#shape, snapshot.kind === "view" ? "view" : "active", this.dir(snapshot.id), this.#paths(snapshot.parentIds));
  }

  /**
   * Records a new snapshot and makes its layer directory: built as `new-*` before the transaction
   * (copies can take long), renamed to `<id>` inside it; a failure keeps neither.
   */
  async #create(kind: "active" | "view", key: string, parent: string, labels: Readonly<Record<string, string>> | undefined): Promise<StoredSnapshot> {
    const size = scratchSize(labels ?? {});
    const parents =
      parent === ""
        ? []
        : this.#store.view((tx) => {
            const found = tx.getInfo(parent);
            if (found.info.kind !== "committed") return undefined;
            return [found.id, ...parentIdsOf(tx, parent)];
          });
    const made = await mkdtemp(join(this.snapshots, "new-"));
    try {
      if (parents !== undefined && !key.includes(unpackKeyPrefix)) {
        if (parents.length === 0) await mkdir(join(made, "Files"));
        else await this.#createScratch(made, this.#paths(parents), size, labels?.[windowsSnapshotLabels.uvmScratch] === "true");
      }
      return this.#store.update((tx) => {
        const snapshot = tx.createSnapshot(kind, key, parent, labels);
        if (parents !== undefined && snapshot.parentIds.join() !== parents.join())
          throw failedPrecondition(`parent ${JSON.stringify(parent)} changed while the scratch was made`);
        renameSync(made, this.dir(snapshot.id));
        return snapshot;
      });
    } catch (error) {
      await rm(made, { recursive: true, force: true });
      throw error;
    }
  }

  async #createScratch(layer: string, parents: readonly string[], size: number, uvmScratch: boolean): Promise<void> {
    const base = parents[parents.length - 1]!;
    await this.ops.copyScratchDisk(join(base, "blank.vhdx"), join(layer, "sandbox.vhdx"));
    if (size > 0) await this.ops.expandSandboxSize(layer, size);
    if (uvmScratch) {
      await mkdir(join(layer, "vm"));
      await this.ops.copyScratchDisk(join(base, "UtilityVM", "SystemTemplate.vhdx"), join(layer, "vm", "sandbox.vhdx"));
    }
  }
}

/** The scratch size the labels ask for, in bytes (0: the template's); InvalidArgument naming a bad label. */
export function scratchSize(labels: Readonly<Record<string, string>>): number {
  const parse = (label: string, scale: number): number | undefined => {
    const text = labels[label];
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) throw invalidArgument(`failed to parse label ${JSON.stringify(label)}=${JSON.stringify(text)}: not a number`);
    return Number(text) * scale;
  };
  return parse(windowsSnapshotLabels.rootfsSizeBytes, 1) ?? parse(windowsSnapshotLabels.rootfsSizeGb, 1024 ** 3) ?? 0;
}

/** The parent chain of committed snapshot `name`, nearest first, itself excluded. */
function parentIdsOf(tx: MetastoreReader, name: string): number[] {
  const ids: number[] = [];
  let current = tx.getInfo(name).info.parent;
  while (current) {
    const found = tx.getInfo(current);
    ids.push(found.id);
    current = found.info.parent;
  }
  return ids;
}
