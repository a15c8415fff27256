import { existsSync } from "node:fs";
import { readFile, statfs } from "node:fs/promises";
import { dirname, resolve } from "node:path";

export interface OverlaySupport {
  readonly supported: boolean;
  /** Why not, when not supported. */
  readonly reason?: string;
}

const overlayfsMagic = 0x794c7630;

/**
 * Whether this host can run the overlayfs snapshotter with its data under `root`: Linux, a
 * kernel that lists overlay in /proc/filesystems, and a root that is not itself on overlayfs
 * (which cannot hold upper directories, e.g. inside a container without a volume).
 */
export async function overlaySupported(root?: string): Promise<OverlaySupport> {
  if (process.platform !== "linux") return { supported: false, reason: `overlayfs needs Linux, not ${process.platform}` };
  let filesystems: string;
  try {
    filesystems = await readFile("/proc/filesystems", "utf8");
  } catch (error) {
    return { supported: false, reason: `cannot read /proc/filesystems: ${(error as Error).message}` };
  }
  if (!/\toverlay$/m.test(filesystems)) {
    return { supported: false, reason: "the kernel has no overlay filesystem (not in /proc/filesystems; is the overlay module loaded?)" };
  }
  if (root !== undefined) {
    let existing = resolve(root);
    while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
    if ((await statfs(existing)).type === overlayfsMagic) {
      return { supported: false, reason: `${root} is on overlayfs, which cannot hold overlay upper directories` };
    }
  }
  return { supported: true };
}

/** containerd adds index=off to overlay mounts whenever the kernel has the index parameter. */
export function kernelHasOverlayIndex(): boolean {
  return existsSync("/sys/module/overlay/parameters/index");
}
