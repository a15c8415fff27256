// What the CRI shares with ctr: containerd's default seccomp profile for `runtime/default`
// (`@berth/client`'s, as `ctr run --seccomp`), and go-cni's networks (`@berth/cni`) in the verbose Status.
import { criV1 } from "@berth/api/cri";
import { type ServiceClient, createServiceClient, grpc } from "@berth/api/services";
import { Client, type OciSeccomp, type OciSpec, defaultSeccompProfile } from "@berth/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CriKit, criKitMissing, startCriKit } from "@berth/testkit";

/** SecurityProfile.ProfileType.RuntimeDefault */
const runtimeDefault = 0;

describe.skipIf(criKitMissing !== undefined)("CRI defaults shared with ctr", () => {
  let kit: CriKit;
  let channel: grpc.Client;
  let runtime: ServiceClient<typeof criV1.RuntimeServiceDefinition>;
  let berth: Client;

  beforeAll(async () => {
    kit = await startCriKit();
    channel = new grpc.Client(`unix://${kit.daemon.address}`, grpc.credentials.createInsecure(), { "grpc.default_authority": kit.daemon.address });
    runtime = createServiceClient(criV1.RuntimeServiceDefinition, channel);
    berth = await Client.connect({ address: kit.daemon.address, namespace: "k8s.io" });
    const images = createServiceClient(criV1.ImageServiceDefinition, channel);
    await images.pullImage({ image: { image: "busybox:1.28", annotations: {} }, auth: undefined, sandboxConfig: undefined });
  }, 600_000);
  afterAll(async () => {
    berth?.close();
    channel?.close();
    await kit?.cleanup();
  }, 300_000);

  const specOf = async (id: string): Promise<OciSpec> =>
    JSON.parse(Buffer.from((await berth.containers.get({ namespace: "k8s.io" }, id)).spec!.value).toString()) as OciSpec;

  it("gives runtime/default sandboxes and containers containerd's default profile for their capabilities", async () => {
    const seccomp = { profileType: runtimeDefault, localhostRef: "" };
    const podConfig = criV1.PodSandboxConfig.fromPartial({
      metadata: { name: "seccomp", namespace: "shared", uid: "u-seccomp", attempt: 1 },
      logDirectory: kit.logDirectory,
      linux: { securityContext: { seccomp } },
    });
    const { podSandboxId } = await runtime.runPodSandbox({ config: podConfig, runtimeHandler: "" });
    try {
      const create = (name: string, addCapabilities: string[]) =>
        runtime.createContainer(
          criV1.CreateContainerRequest.fromPartial({
            podSandboxId,
            sandboxConfig: podConfig,
            config: {
              metadata: { name },
              image: { image: "busybox:1.28" },
              command: ["top"],
              linux: { securityContext: { seccomp, capabilities: { addCapabilities } } },
            },
          }),
        );
      const plain = await create("plain", []);
      const admin = await create("admin", ["SYS_ADMIN"]);
      for (const id of [podSandboxId, plain.containerId, admin.containerId]) {
        const spec = await specOf(id);
        expect(spec.linux?.seccomp, id === podSandboxId ? "sandbox" : id).toEqual(defaultSeccompProfile(spec));
        expect((spec.linux?.seccomp as OciSeccomp | undefined)?.defaultAction).toBe("SCMP_ACT_ERRNO");
      }
      // The capability opens the calls it guards, as containerd's profile does.
      const allowed = async (id: string) =>
        (((await specOf(id)).linux?.seccomp as OciSeccomp | undefined)?.syscalls ?? [])
          .filter((rule) => rule.action === "SCMP_ACT_ALLOW")
          .flatMap((rule) => rule.names);
      expect(await allowed(plain.containerId)).not.toContain("mount");
      expect(await allowed(admin.containerId)).toContain("mount");
    } finally {
      await runtime.stopPodSandbox({ podSandboxId });
      await runtime.removePodSandbox({ podSandboxId });
    }
  });

  it("reports its networks as go-cni does in the verbose Status: loopback on lo, then the configured ones", async () => {
    const status = await runtime.status({ verbose: true });
    expect(status.status?.conditions.find((condition) => condition.type === "NetworkReady")?.status).toBe(true);
    const cniconfig = JSON.parse(status.info.cniconfig!) as {
      Networks: { Config: { Name: string; Plugins: { Network: { type: string } }[] }; IFName: string }[];
    };
    expect(cniconfig.Networks.map((network) => network.IFName)).toEqual(["lo", "eth0"]);
    expect(cniconfig.Networks[0]!.Config).toMatchObject({ Name: "cni-loopback", Plugins: [{ Network: { type: "loopback" } }] });
  });
});
