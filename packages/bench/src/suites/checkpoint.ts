import { runCommand, type CtrSession } from "@berth/testkit";
import { timeMs } from "../measure.js";
import { berthCtr } from "./cli.js";

export interface CheckpointTimes {
  readonly checkpointMs: number;
  readonly restoreMs: number;
}

const container = "bench-checkpoint";
const image = "bench/checkpoint:latest";

/**
 * One `sleep` container checkpointed with its task by stock ctr (`containers checkpoint --task`:
 * runc and CRIU dump it into the content store), removed, then restored and started from that
 * image (`containers restore --live`; Berth's ctr, which takes `--fifo-dir`, so that nothing is
 * written under /run/containerd). Where CRIU cannot dump (`criu check` fails on some kernels),
 * the error names CRIU's reason and the row says "failed" on both sides.
 */
export async function checkpointRestoreMs(session: CtrSession, runImage: string): Promise<CheckpointTimes> {
  const ctr = async (...args: string[]) => {
    const result = await session.ctr(...args);
    if (result.code !== 0) throw new Error(`ctr ${args.slice(0, 2).join(" ")} exited with ${result.signal ?? result.code}: ${result.stderr.trim()}`);
  };
  await ctr("run", "-d", ...session.runFlags, runImage, container, "sleep", "1000");
  const checkpointMs = await timeMs(() => ctr("containers", "checkpoint", "--task", container, image));
  await ctr("tasks", "kill", "-s", "SIGKILL", container);
  await session.ctr("tasks", "rm", "-f", container);
  await ctr("containers", "rm", container);
  const restoreMs = await timeMs(async () => {
    const restored = await runCommand(process.execPath, [berthCtr, ...session.args("containers", "restore", "--live", "--fifo-dir", session.fifoDir, image)]);
    if (restored.code !== 0) throw new Error(`ctr containers restore --live exited with ${restored.code}: ${restored.stderr.trim()}`);
  });
  return { checkpointMs, restoreMs };
}
