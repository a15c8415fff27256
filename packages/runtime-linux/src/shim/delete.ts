import { readFileSync } from "node:fs";
import { join } from "node:path";
import { nowTimestamp } from "@berth/api";
import * as taskV2 from "@berth/api/gen/containerd/task/v2/shim";
import { unmountAll } from "@berth/mount";
import type { ShimFlags } from "./flags.js";
import { readOptions, runcBinary, runcRoot } from "./options.js";
import { Runc } from "./runc.js";

const SIGKILL = 9;

/**
 * `delete`: cleans up after a shim that died (containerd runs it when it cannot reach the shim):
 * force-deletes the runc container, unmounts the rootfs and reports the task killed (137), as
 * containerd's runc shim does. Prints the protobuf DeleteResponse.
 */
export async function deleteCommand(flags: ShimFlags): Promise<Uint8Array> {
  const bundle = flags.bundle !== "" ? flags.bundle : process.cwd();
  const options = readOptions(bundle);
  const runc = new Runc(
    { binary: runcBinary(options), root: runcRoot(options, bundle, flags.address, flags.namespace), systemdCgroup: options.systemdCgroup },
    join(bundle, "log.json"),
    { spawned: () => undefined, finished: () => undefined },
  );
  await runc.delete(flags.id, true).catch(() => undefined);
  await unmountAll(join(bundle, "rootfs")).catch(() => unmountAll(join(bundle, "rootfs"), { detach: true }));
  let pid = 0;
  try {
    pid = Number.parseInt(readFileSync(join(bundle, "init.pid"), "utf8"), 10) || 0;
  } catch {
    // never created
  }
  return taskV2.DeleteResponse.encode({ pid, exitStatus: 128 + SIGKILL, exitedAt: nowTimestamp() }).finish();
}
