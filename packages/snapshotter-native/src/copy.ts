import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { errorOfKind } from "@berth/api";

const run = promisify(execFile);

/**
 * Copies the tree at `source` into the existing directory `target` as containerd's `fs.CopyDir`
 * does for the native snapshotter: owners, modes (setuid, setgid, sticky), access and
 * modification times, extended attributes, symlinks, device nodes, FIFOs and sockets, with hard
 * links inside the tree kept as hard links; `target` itself takes `source`'s owner, mode, times
 * and xattrs. Failing to copy an xattr is ignored, as containerd does (security.* often cannot be).
 *
 * GNU `cp --archive` does exactly this (and keeps sparse files sparse, cloning extents where the
 * filesystem can), in a process of its own, so that a large copy never blocks the event loop.
 */
export async function copyTree(source: string, target: string): Promise<void> {
  const args = ["--archive", "--no-target-directory", "--", source, target];
  try {
    await run("cp", args, { encoding: "utf8", env: { ...process.env, LC_ALL: "C" }, maxBuffer: 1 << 20 });
  } catch (error) {
    const { code, stderr } = error as { code?: unknown; stderr?: unknown };
    if (code === "ENOENT") throw errorOfKind("FailedPrecondition", "the cp command (GNU coreutils) is not installed", { cause: error });
    const detail = typeof stderr === "string" && stderr.trim() !== "" ? stderr.trim() : (error as Error).message;
    throw errorOfKind("Internal", `copying of parent failed: cp ${args.join(" ")}: ${detail}`, { cause: error });
  }
}
