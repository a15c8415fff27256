// A berthd killed with SIGKILL while two pods run: after its restart the CRI knows both, Ready,
// with their containers running, their IPs and logs, and can stop and remove them.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CriKit, criKitMissing, startCriKit } from "@berth/testkit";

interface PodState {
  id: string;
  state: string;
  network: { ip: string };
}

describe.skipIf(criKitMissing !== undefined)("CRI across a berthd kill -9", () => {
  let kit: CriKit;

  beforeAll(async () => {
    kit = await startCriKit();
  }, 600_000);
  afterAll(async () => {
    await kit?.cleanup();
  }, 300_000);

  async function crictl(...args: string[]): Promise<string> {
    const result = await kit.crictl(...args);
    if (result.code !== 0) throw new Error(`crictl ${args.join(" ")}: ${result.stderr}\nberthd:\n${kit.daemon.logs().slice(-6000)}`);
    return result.stdout.trim();
  }

  const podStatus = async (id: string) => (JSON.parse(await crictl("inspectp", "-o", "json", id)) as { status: PodState }).status;
  const containerStatus = async (id: string) =>
    (JSON.parse(await crictl("inspect", "-o", "json", id)) as { status: { state: string; logPath: string } }).status;

  it("keeps both pods Ready with their containers running, IPs and logs, and stops and removes them", async () => {
    const pods: { pod: string; container: string; ip: string }[] = [];
    for (const name of ["first", "second"]) {
      const podJson = join(kit.directory, `${name}-pod.json`);
      const ctrJson = join(kit.directory, `${name}-ctr.json`);
      writeFileSync(
        podJson,
        JSON.stringify({ metadata: { name, namespace: "restart", uid: `uid-${name}`, attempt: 1 }, log_directory: join(kit.logDirectory, name), linux: {} }),
      );
      writeFileSync(
        ctrJson,
        JSON.stringify({
          metadata: { name: `${name}-c` },
          image: { image: "busybox:1.28" },
          command: ["sh", "-c", `echo hello from ${name}; exec sleep 100000`],
          log_path: "c.log",
          linux: {},
        }),
      );
      await crictl("pull", "busybox:1.28");
      const pod = await crictl("runp", podJson);
      const container = await crictl("create", pod, ctrJson, podJson);
      await crictl("start", container);
      pods.push({ pod, container, ip: (await podStatus(pod)).network.ip });
    }
    // The log line is there before the kill.
    for (const { container } of pods)
      await expect.poll(async () => readFileSync((await containerStatus(container)).logPath, "utf8"), { timeout: 30_000 }).toContain("hello from");

    await kit.restartDaemon();

    for (const [i, { pod, container, ip }] of pods.entries()) {
      const status = await podStatus(pod);
      expect(status.state).toBe("SANDBOX_READY");
      expect(status.network.ip).toBe(ip);
      expect(ip).not.toBe("");
      const ctr = await containerStatus(container);
      expect(ctr.state).toBe("CONTAINER_RUNNING");
      expect(readFileSync(ctr.logPath, "utf8")).toContain(`stdout F hello from ${["first", "second"][i]}`);
      expect(await crictl("exec", "-s", container, "echo", "alive")).toBe("alive");
    }
    for (const { pod } of pods) {
      await crictl("stopp", pod);
      await crictl("rmp", pod);
    }
    expect(await crictl("pods", "-q")).toBe("");
    expect(await crictl("ps", "-a", "-q")).toBe("");
  });
});
