// Bad input to the CRI gets containerd's status codes and leaves nothing behind.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kindOf } from "@berth/api";
import { criV1 } from "@berth/api/cri";
import { type ServiceClient, createServiceClient, grpc } from "@berth/api/services";
import { Client } from "@berth/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CriKit, criKitMissing, runCommand, startCriKit } from "@berth/testkit";

const unknownId = "0123456789abcdef".repeat(4);

async function kindOfFailure(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return kindOf(error);
  }
  return "succeeded";
}

describe.skipIf(criKitMissing !== undefined)("CRI bad input", () => {
  let kit: CriKit;
  let channel: grpc.Client;
  let runtime: ServiceClient<typeof criV1.RuntimeServiceDefinition>;
  let images: ServiceClient<typeof criV1.ImageServiceDefinition>;
  let berth: Client;
  let podConfig: criV1.PodSandboxConfig;

  /** What a pod or container could leave: netns, mounts, containerd records, snapshots, CRI dirs, IPAM leases. */
  async function footprint() {
    const ctx = { namespace: "k8s.io" };
    const mounts = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .filter((l) => l.includes(kit.daemon.root) || l.includes(kit.daemon.state));
    const netns = (await runCommand("ip", ["netns", "list"])).stdout.split("\n").filter(Boolean).length;
    const criRoot = join(kit.daemon.root, "io.containerd.grpc.v1.cri");
    const dirs = ["sandboxes", "containers"].flatMap((d) => {
      try {
        return readdirSync(join(criRoot, d));
      } catch {
        return [];
      }
    });
    let ipam: string[] = [];
    try {
      ipam = readdirSync(join(kit.directory, "cri", "cni-ipam"), { recursive: true })
        .map(String)
        .filter((f) => /^\d|\/\d/.test(f));
    } catch {
      // none yet
    }
    const containers = (await berth.containers.list(ctx, [])).map((c) => c.id);
    const snapshots: string[] = [];
    for await (const info of berth.snapshotter().list(ctx, [])) if (info.kind !== "committed") snapshots.push(info.name);
    const tasks = (await berth.tasks.list(ctx)).map((t) => t.id);
    return { mounts, netns, dirs, ipam, containers, snapshots, tasks };
  }

  beforeAll(async () => {
    kit = await startCriKit();
    channel = new grpc.Client(`unix://${kit.daemon.address}`, grpc.credentials.createInsecure(), { "grpc.default_authority": kit.daemon.address });
    runtime = createServiceClient(criV1.RuntimeServiceDefinition, channel);
    images = createServiceClient(criV1.ImageServiceDefinition, channel);
    berth = await Client.connect({ address: kit.daemon.address, namespace: "k8s.io" });
    podConfig = criV1.PodSandboxConfig.fromPartial({
      metadata: { name: "bad-input", namespace: "errors", uid: "u-errors", attempt: 1 },
      logDirectory: kit.logDirectory,
      linux: {},
    });
    await images.pullImage({ image: { image: "busybox:1.28", annotations: {} }, auth: undefined, sandboxConfig: undefined });
  }, 600_000);
  afterAll(async () => {
    berth?.close();
    channel?.close();
    await kit?.cleanup();
  }, 300_000);

  it("answers unknown sandbox and container ids as containerd does", async () => {
    expect(await kindOfFailure(runtime.podSandboxStatus({ podSandboxId: unknownId, verbose: false }))).toBe("NotFound");
    expect(await kindOfFailure(runtime.stopPodSandbox({ podSandboxId: unknownId }))).toBe("NotFound");
    expect(await kindOfFailure(runtime.removePodSandbox({ podSandboxId: unknownId }))).toBe("succeeded");
    expect(await kindOfFailure(runtime.containerStatus({ containerId: unknownId, verbose: false }))).toBe("NotFound");
    expect(await kindOfFailure(runtime.stopContainer({ containerId: unknownId, timeout: 0 }))).toBe("NotFound");
    expect(await kindOfFailure(runtime.removeContainer({ containerId: unknownId }))).toBe("succeeded");
    expect(
      await kindOfFailure(
        runtime.createContainer(
          criV1.CreateContainerRequest.fromPartial({ podSandboxId: unknownId, config: { metadata: { name: "c" }, image: { image: "busybox:1.28" } } }),
        ),
      ),
    ).toBe("NotFound");
    expect((await images.imageStatus({ image: { image: "docker.io/library/nothing-here:1", annotations: {} }, verbose: false })).image).toBeUndefined();
    expect(await kindOfFailure(images.removeImage({ image: { image: "docker.io/library/nothing-here:1", annotations: {} } }))).toBe("succeeded");
  });

  it("refuses a sandbox without metadata, and a second sandbox of the same name, leaving nothing behind", async () => {
    const before = await footprint();
    expect(await kindOfFailure(runtime.runPodSandbox({ config: criV1.PodSandboxConfig.fromPartial({ linux: {} }), runtimeHandler: "" }))).toBe("Unknown");
    expect(await kindOfFailure(runtime.runPodSandbox({ config: podConfig, runtimeHandler: "no-such-handler" }))).toBe("Unknown");
    expect(await footprint()).toEqual(before);
    const { podSandboxId } = await runtime.runPodSandbox({ config: podConfig, runtimeHandler: "" });
    const running = await footprint();
    expect(await kindOfFailure(runtime.runPodSandbox({ config: podConfig, runtimeHandler: "" }))).toBe("Unknown");
    expect(await footprint()).toEqual(running);
    await runtime.stopPodSandbox({ podSandboxId });
    await runtime.removePodSandbox({ podSandboxId });
    expect(await footprint()).toEqual(before);
  });

  it("rolls a sandbox back whole when its spec fails after the network is up (a bad seccomp profile)", async () => {
    const before = await footprint();
    const config = criV1.PodSandboxConfig.fromPartial({
      ...podConfig,
      metadata: { ...podConfig.metadata!, name: "bad-seccomp" },
      linux: { securityContext: { seccompProfilePath: "not-a-profile" } },
    });
    expect(await kindOfFailure(runtime.runPodSandbox({ config, runtimeHandler: "" }))).toBe("Unknown");
    expect(await footprint()).toEqual(before);
  });

  it("refuses containers containerd refuses (seccomp without localhost/, RunAsGroup without RunAsUser, a missing image), leaving nothing behind", async () => {
    const { podSandboxId } = await runtime.runPodSandbox({ config: podConfig, runtimeHandler: "" });
    try {
      const before = await footprint();
      const profile = join(kit.directory, "profile.json");
      writeFileSync(profile, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["chmod"], action: "SCMP_ACT_ERRNO" }] }));
      const create = (name: string, linux: object, image = "busybox:1.28") =>
        runtime.createContainer(
          criV1.CreateContainerRequest.fromPartial({
            podSandboxId,
            sandboxConfig: podConfig,
            config: { metadata: { name }, image: { image }, command: ["top"], linux },
          }),
        );
      expect(await kindOfFailure(create("seccomp", { securityContext: { seccompProfilePath: profile } }))).toBe("Unknown");
      expect(await kindOfFailure(create("group", { securityContext: { runAsGroup: { value: 1002 } } }))).toBe("Unknown");
      expect(await kindOfFailure(create("image", {}, "docker.io/library/nothing-here:1"))).toBe("NotFound");
      expect(await footprint()).toEqual(before);
      expect(JSON.parse((await kit.crictl("ps", "-a", "-o", "json")).stdout)).toEqual({ containers: [] });
      // The same profile named with localhost/ is accepted.
      const { containerId } = await create("seccomp", { securityContext: { seccompProfilePath: `localhost/${profile}` } });
      // (crictl reads the nanosecond timestamps ts-proto's numbers cannot hold.)
      const listed = JSON.parse((await kit.crictl("ps", "-a", "-o", "json")).stdout) as { containers: { id: string; state: string }[] };
      expect(listed.containers.map((c) => [c.id, c.state])).toEqual([[containerId, "CONTAINER_CREATED"]]);
    } finally {
      await runtime.stopPodSandbox({ podSandboxId });
      await runtime.removePodSandbox({ podSandboxId });
    }
  });
});
