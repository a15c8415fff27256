// The Linux seam's RuntimeFixture: testkit's shim manager fixture with linuxShimPlatform.
import { type CallContext, type RuntimeTask, packJson } from "@berth/api";
import { type ShimManagerOptions, linuxShimPlatform } from "@berth/runtime-linux";
import { shimManagerFixture } from "@berth/testkit";

export const stockShim = "/usr/bin/containerd-shim-runc-v2";

export function managerFixture(label: string, shimBinary: string, extra: Pick<ShimManagerOptions, "logger" | "debug"> = {}) {
  return shimManagerFixture(label, () => ({ shimBinary, platform: linuxShimPlatform, ...extra }));
}

type ManagerFixture = Awaited<ReturnType<typeof managerFixture>>;

/** Creates (not starts) a task running `sleep 1000` with no stdio, on the fixture's busybox rootfs. */
export function createSleeper(fixture: ManagerFixture, context: CallContext, id: string): Promise<RuntimeTask> {
  const spec = packJson("types.containerd.io/opencontainers/runtime-spec/1/Spec", fixture.spec(id, ["sleep", "1000"]));
  return fixture.runtime.create(context, id, {
    spec,
    rootfs: [{ type: "bind", source: fixture.rootfs, options: ["rbind", "rw"] }],
    io: { stdin: "", stdout: "", stderr: "", terminal: false },
    runtime: fixture.runtimeName,
  });
}

/** Kills the task (if it still runs), waits for its exit and deletes it. */
export async function removeTask(fixture: ManagerFixture, context: CallContext, id: string): Promise<void> {
  const task = await fixture.runtime.get(context, id);
  await task.kill(context, 9, false).catch(() => undefined);
  await task.wait(context);
  await fixture.runtime.delete(context, id);
}
