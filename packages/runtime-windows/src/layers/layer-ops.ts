import type { WindowsFileInfo } from "./tar-codec.js";

/**
 * What the `windows` snapshotter, differ and `windows-layer` mounts ask of the operating system:
 * hcsshim's layer calls (vmcompute.dll), the bind filter (bindfltapi.dll) and NTFS alternate
 * data streams. `win32LayerOps` (src/win32/) is the real one; any other (a model of the layer
 * directories for tests on Linux) keeps the same contract. Every path is a layer directory
 * (`<root>/snapshots/<id>`) unless named otherwise; `parents` are layer directories, nearest first.
 */
export interface LayerOps {
  /** True when `path` is on NTFS; the snapshotter refuses any other root. */
  isNtfs(path: string): Promise<boolean>;

  /** Copies a virtual disk (a parent's `blank.vhdx` to a new scratch's `sandbox.vhdx`). */
  copyScratchDisk(from: string, to: string): Promise<void>;
  /** Grows `layer`'s sandbox.vhdx to `bytes` (ExpandSandboxSize). */
  expandSandboxSize(layer: string, bytes: number): Promise<void>;
  /** Makes a parentless layer a base layer (ProcessBaseLayer: blank.vhdx and friends). */
  convertToBaseLayer(layer: string): Promise<void>;
  /** Turns a committed scratch into a read-only layer of `parents` (export the scratch, import it back). */
  convertScratchToReadOnlyLayer(layer: string, parents: readonly string[]): Promise<void>;
  /** Deletes a layer directory, mounted VHDs and all (DestroyLayer). */
  destroyLayer(layer: string): Promise<void>;

  /** ActivateLayer, PrepareLayer, UnprepareLayer, DeactivateLayer: the filter that merges `parents` under `layer`. */
  activateLayer(layer: string): Promise<void>;
  prepareLayer(layer: string, parents: readonly string[]): Promise<void>;
  unprepareLayer(layer: string): Promise<void>;
  deactivateLayer(layer: string): Promise<void>;
  /** Where an activated, prepared layer's files appear (GetLayerMountPath; a base layer's `Files`). */
  getLayerMountPath(layer: string): Promise<string>;

  /** Maps `source` onto the directory `target` (bind filter), read-only if asked; and removes it. */
  applyBindFilter(source: string, target: string, readOnly: boolean): Promise<void>;
  removeBindFilter(target: string): Promise<void>;
  /** The alternate data stream `target:containerd.io-source` that remembers what was mounted there. */
  writeSourceStream(target: string, layer: string): Promise<void>;
  readSourceStream(target: string): Promise<string>;
  removeSourceStream(target: string): Promise<void>;

  /** A writer that imports a layer tar, file by file, into `layer` over `parents` (ImportLayer's LayerWriter). */
  newLayerWriter(layer: string, parents: readonly string[]): Promise<LayerWriter>;
}

/** hcsshim's LayerWriter: entries in tar order; `close` finishes the layer (a base layer is processed then). */
export interface LayerWriter {
  /** A file or directory: its information and its backup stream (security, EAs, reparse data, data, ADS). */
  add(name: string, info: WindowsFileInfo, backupStream: Buffer): Promise<void>;
  /** A hard link `name` to `target` (both layer-relative, `Files/…`). */
  addLink(name: string, target: string): Promise<void>;
  /** A whiteout: `name` is gone in this layer. */
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}
