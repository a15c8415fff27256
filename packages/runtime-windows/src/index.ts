/**
 * @berth/runtime-windows: containerd's Windows runtime for Berth. Pure and testable anywhere: the
 * Windows OCI spec (also alone as `@berth/runtime-windows/spec`), runhcs' type URLs, the `windows`
 * snapshotter and differ and `windows-layer` mounts over `LayerOps`, the layer tar ⇄ backup
 * stream codec, the shim seam's names, and the snapshotter's and differ's plugins (`windowsSnapshotterPlugin`,
 * `windowsDifferPlugin`, which skip themselves elsewhere). `src/win32/` alone touches the operating system
 * (koffi to vmcompute.dll, bindfltapi.dll, kernel32 and advapi32), loaded only when asked for on Windows.
 */
export type { LayerDescriptor } from "./layers/differ.js";
export { WindowsDiffer, importLayerTar } from "./layers/differ.js";
export type { BackupRecord, ExtendedAttribute, ReparsePoint } from "./layers/backup-stream.js";
export {
  decodeBackupStream,
  decodeExtendedAttributes,
  decodeReparsePoint,
  encodeBackupRecord,
  encodeExtendedAttributes,
  encodeReparsePoint,
  streamIds,
} from "./layers/backup-stream.js";
export type { LayerOps, LayerWriter } from "./layers/layer-ops.js";
export type { MountShape } from "./layers/mounts.js";
export { mountWindowsLayer, parentLayerPaths, unmountWindowsLayer, windowsLayerMount, windowsLayerMountType } from "./layers/mounts.js";
export type { WindowsSnapshotterOptions } from "./layers/snapshotter.js";
export { WindowsSnapshotter, scratchSize, windowsSnapshotLabels } from "./layers/snapshotter.js";
export type { AlternateStream, LayerEntryType, LayerTarEntry, LayerTarHeader, WindowsFileInfo } from "./layers/tar-codec.js";
export {
  backupStreamFromTarEntry,
  fileAttributeDirectory,
  fileInfoFromHeader,
  fromFiletime,
  paxKeys,
  paxTimeUnits,
  tarEntriesFromBackupStream,
  toFiletime,
  unitsToPaxTime,
} from "./layers/tar-codec.js";
export { runhcsTypeUrls, windowsDefaults, windowsSupport } from "./platform.js";
export { loadWin32LayerOps } from "./win32-loader.js";
export type { WindowsPluginHost } from "./plugins.js";
export { skipUnlessWindows, windowsDifferPlugin, windowsPluginPlatform, windowsSnapshotterPlugin } from "./plugins.js";
