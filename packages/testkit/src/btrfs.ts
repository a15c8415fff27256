import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unmountUnder } from "@berth/mount";

const run = (command: string, ...args: string[]): string => execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** A scratch btrfs filesystem on a loop file, mounted at `mnt`, all under `base`. */
export interface LoopBtrfs {
  readonly base: string;
  readonly image: string;
  readonly mnt: string;
  /** The loop device, e.g. /dev/loop3. */
  readonly device: string;
  /** Unmounts everything under `base`, detaches the loop device and removes `base`. */
  dispose(): Promise<void>;
}

/** The loop devices backed by `image` (losetup -j). */
function loopDevicesOf(image: string): string[] {
  return run("losetup", "--noheadings", "--output", "NAME", "-j", image)
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/**
 * Makes a 256 MiB btrfs filesystem on a file under a fresh berth-test-btrfs-* directory, attaches
 * it to a loop device and mounts it. If any step fails, what was made is undone before throwing.
 */
export async function makeLoopBtrfs(): Promise<LoopBtrfs> {
  const base = mkdtempSync(join(tmpdir(), "berth-test-btrfs-"));
  const image = join(base, "fs.img");
  const mnt = join(base, "mnt");
  const dispose = async () => {
    try {
      await unmountUnder(base);
    } catch {
      await unmountUnder(base, { detach: true });
    } finally {
      for (const device of loopDevicesOf(image)) run("losetup", "-d", device);
    }
    // Never remove recursively through a mount that somehow stayed: it would delete its files.
    if (readFileSync("/proc/self/mounts", "utf8").includes(base)) throw new Error(`${base} is still mounted`);
    rmSync(base, { recursive: true, force: true });
  };
  try {
    run("truncate", "-s", "256M", image);
    run("mkfs.btrfs", "-q", image);
    const device = run("losetup", "--find", "--show", image).trim();
    mkdirSync(mnt);
    run("mount", "-t", "btrfs", device, mnt);
    return { base, image, mnt, device, dispose };
  } catch (error) {
    await dispose().catch(() => undefined);
    throw error;
  }
}
