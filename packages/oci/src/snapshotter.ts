import { hostPlatform } from "./platform.js";

const snapshotters: Readonly<Record<string, string>> = { linux: "overlayfs", windows: "windows", darwin: "native", freebsd: "zfs" };

/**
 * containerd's defaults.DefaultSnapshotter for an operating system (default: this host's):
 * `overlayfs` on Linux, `windows` on Windows, `native` on macOS, `zfs` on FreeBSD; `native` elsewhere.
 */
export function defaultSnapshotterFor(os: string = hostPlatform().os): string {
  return snapshotters[os] ?? "native";
}
