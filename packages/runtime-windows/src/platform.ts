/** The type URLs of what Microsoft's runhcs shim carries in an `Any` (registered in @berth/api's knownTypes). */
export const runhcsTypeUrls = {
  options: "containerd.runhcs.v1.Options",
  processDetails: "containerd.runhcs.v1.ProcessDetails",
  statistics: "containerd.runhcs.stats.v1.Statistics",
} as const;

/** containerd's Windows defaults (defaults/defaults_windows.go). */
export const windowsDefaults = {
  address: "\\\\.\\pipe\\containerd-containerd",
  ttrpcAddress: "\\\\.\\pipe\\containerd-containerd.ttrpc",
  debugAddress: "\\\\.\\pipe\\containerd-debug",
  runtime: "io.containerd.runhcs.v1",
  snapshotter: "windows",
  /** Relative to %ProgramData%. */
  root: "containerd\\root",
  state: "containerd\\state",
} as const;

/** Whether the Windows plugins can run here, and if not, the reason `ctr plugins ls` reports (status skip). */
export function windowsSupport(platform: NodeJS.Platform = process.platform): { supported: boolean; reason?: string } {
  if (platform === "win32") return { supported: true };
  return { supported: false, reason: `windows plugins need a Windows host (this is ${platform}): vmcompute.dll, bindfltapi.dll and NTFS` };
}
