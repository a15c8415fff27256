import { readFileSync } from "node:fs";
import { criV1 } from "@berth/api/cri";
import { type ServiceClient, createServiceClient, grpc } from "@berth/api/services";
import { type CriKit, criKitMissing, runCritestOn, startCriKit, startStockCri } from "@berth/testkit";
import type { Both } from "../harness.js";
import { type Outcome, attempt, median, timeMs } from "../measure.js";

/** The CRI figures of one runtime: pod+container start latency, critest's duration, daemon RSS with 20 pods. */
export interface CriFigures {
  readonly startMs: number;
  readonly critestS: number;
  readonly rss20PodsMb: number;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

function podConfig(kit: CriKit, name: string): criV1.PodSandboxConfig {
  return criV1.PodSandboxConfig.fromPartial({
    metadata: { name, namespace: "bench", uid: `uid-${name}`, attempt: 1 },
    logDirectory: kit.logDirectory,
    linux: {},
  });
}

/** RunPodSandbox + CreateContainer + StartContainer (median of `runs`), then 20 pods for the RSS, then critest. */
async function measure(kit: CriKit, address: string, pid: number, runs: number): Promise<CriFigures> {
  const channel = new grpc.Client(`unix://${address}`, grpc.credentials.createInsecure(), { "grpc.default_authority": address });
  const runtime: ServiceClient<typeof criV1.RuntimeServiceDefinition> = createServiceClient(criV1.RuntimeServiceDefinition, channel);
  const images = createServiceClient(criV1.ImageServiceDefinition, channel);
  const pods: string[] = [];
  try {
    await images.pullImage({ image: { image: "busybox:1.28", annotations: {} }, auth: undefined, sandboxConfig: undefined });
    // The pause image is pulled by the first pod; that one is not counted.
    const warm = await runtime.runPodSandbox({ config: podConfig(kit, "warm"), runtimeHandler: "" });
    pods.push(warm.podSandboxId);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const config = podConfig(kit, `start-${i}`);
      times.push(
        await timeMs(async () => {
          const { podSandboxId } = await runtime.runPodSandbox({ config, runtimeHandler: "" });
          pods.push(podSandboxId);
          const { containerId } = await runtime.createContainer(
            criV1.CreateContainerRequest.fromPartial({
              podSandboxId,
              sandboxConfig: config,
              config: { metadata: { name: "c" }, image: { image: "busybox:1.28" }, command: ["sleep", "3600"], linux: {} },
            }),
          );
          await runtime.startContainer({ containerId });
        }),
      );
    }
    while (pods.length < 20) pods.push((await runtime.runPodSandbox({ config: podConfig(kit, `rss-${pods.length}`), runtimeHandler: "" })).podSandboxId);
    const rss20PodsMb = rssMb(pid);
    for (const podSandboxId of pods.splice(0)) {
      await runtime.stopPodSandbox({ podSandboxId });
      await runtime.removePodSandbox({ podSandboxId });
    }
    const critestS = (await timeMs(() => runCritestOn(address, kit.directory))) / 1000;
    return { startMs: median(times), critestS, rss20PodsMb };
  } finally {
    for (const podSandboxId of pods) {
      await runtime.stopPodSandbox({ podSandboxId }).catch(() => undefined);
      await runtime.removePodSandbox({ podSandboxId }).catch(() => undefined);
    }
    channel.close();
  }
}

/**
 * The CRI suite: berthd with the offline conformance kit (shared/cri), and stock containerd 1.6
 * with its CRI plugin on the same registry, one after the other (they share host ports).
 */
export async function criFigures(runs = 5): Promise<Both<CriFigures>> {
  if (criKitMissing !== undefined) return { berth: "n/a", containerd: "n/a" };
  const kit = await startCriKit();
  try {
    const berth: Outcome<CriFigures> = await attempt("CRI on berthd", () => measure(kit, kit.daemon.address, kit.daemon.process.pid!, runs));
    const containerd: Outcome<CriFigures> = await attempt("CRI on stock containerd", async () => {
      const stock = await startStockCri(kit);
      try {
        return await measure(kit, stock.address, stock.pid, runs);
      } finally {
        await stock.stop();
      }
    });
    return { berth, containerd };
  } finally {
    await kit.cleanup();
  }
}
