import { hostname } from "node:os";
import { type Container, unpackJson } from "@berth/api";
import {
  Client,
  type OciMount,
  type SpecOpt,
  createContainer,
  readImageConfig,
  withAnnotations,
  withEnv,
  withHostHostsFile,
  withHostNamespace,
  withHostResolvconf,
  withImageConfig,
  withMountsAdded,
  withProcessArgs,
  withTty,
  withCpuCfs,
  withDefaultSeccomp,
  withDevices,
  withDroppedCapabilities,
  withMemoryLimit,
  withPrivilegedHost,
} from "@berth/client";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const userImage = buildBusyboxImage({
  config: {
    User: "app",
    WorkingDir: "/work",
    Entrypoint: ["/bin/echo"],
    Cmd: ["hello"],
    Env: ["FOO=bar", "PATH=/bin"],
    Labels: { "org.example.role": "test" },
    StopSignal: "SIGINT",
  },
  files: [
    { path: "etc/passwd", type: "file", content: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n" },
    { path: "etc/group", type: "file", content: "root:x:0:\napp:x:1000:\nextra:x:2000:app\nmore:x:3000:other,app\nunrelated:x:4000:other\n" },
  ],
});
const numericUserImage = buildBusyboxImage({ config: { User: "4242", Cmd: ["/bin/sh"] } });
const groupUserImage = buildBusyboxImage({
  config: { User: "app:more", Cmd: ["/bin/sh"] },
  files: [
    { path: "etc/passwd", type: "file", content: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n" },
    { path: "etc/group", type: "file", content: "root:x:0:\nmore:x:3000:app\n" },
  ],
});

/** ctr run's flags as spec options, in ctr's order (what Berth's ctr builds from the same flags). */
function ctrRunOpts(
  image: Awaited<ReturnType<typeof readImageConfig>>,
  flags: { env?: string[]; mounts?: OciMount[]; args?: string[]; tty?: boolean; netHost?: boolean; labels?: Record<string, string>; linux?: SpecOpt[] },
): SpecOpt[] {
  return [
    withEnv(flags.env ?? []),
    withMountsAdded(flags.mounts ?? []),
    withImageConfig(image.process),
    ...(flags.args?.length ? [withProcessArgs(...flags.args)] : []),
    ...(flags.tty ? [withTty] : []),
    ...(flags.netHost ? [withHostNamespace("network"), withHostHostsFile, withHostResolvconf, withEnv([`HOSTNAME=${hostname()}`])] : []),
    ...(flags.linux ?? []),
    withAnnotations(flags.labels ?? {}),
  ];
}

describe.skipIf(!stockContainerdInstalled)("OCI specs from images, beside stock ctr's", () => {
  let registry: RunningRegistry;
  let containerd: RunningDaemon;
  let berthd: RunningDaemon;
  const clients: Client[] = [];
  const refs: Record<string, string> = {};
  const namespace = "specs";

  beforeAll(async () => {
    [registry, containerd, berthd] = await Promise.all([startRegistry(), startStockContainerd().then((d) => d!), startBerthd()]);
    for (const [name, image] of Object.entries({ busybox: buildBusyboxImage(), user: userImage, numeric: numericUserImage, group: groupUserImage })) {
      await pushTestImage(image, { url: registry.url, repository: `library/${name}`, tag: "latest" });
      refs[name] = `${registry.host}/library/${name}:latest`;
      for (const daemon of [containerd, berthd]) {
        const pulled = await runCommand(stockCtr!, ["--address", daemon.address, "-n", namespace, "images", "pull", "--plain-http", refs[name]!]);
        expect(pulled.code, pulled.stderr).toBe(0);
      }
    }
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await berthd?.cleanup();
    await containerd?.cleanup();
    await registry?.stop();
  });

  async function connect(daemon: RunningDaemon): Promise<Client> {
    const client = await Client.connect({ address: daemon.address, namespace });
    clients.push(client);
    return client;
  }

  const specOf = (container: Container) => unpackJson<Record<string, unknown>>(container.spec!);

  const cases: { name: string; image: string; ctrArgs: string[]; flags: Parameters<typeof ctrRunOpts>[1] }[] = [
    { name: "defaults", image: "busybox", ctrArgs: [], flags: {} },
    {
      name: "tty, host network, env, a mount, a label and args",
      image: "busybox",
      ctrArgs: ["-t", "--net-host", "--env", "A=b", "--env", "PATH=/x", "--mount", "type=bind,src=/tmp,dst=/host,options=rbind:ro", "--label", "q=r"],
      flags: {
        tty: true,
        netHost: true,
        env: ["A=b", "PATH=/x"],
        mounts: [{ destination: "/host", type: "bind", source: "/tmp", options: ["rbind", "ro"] }],
        labels: { q: "r" },
        args: ["echo", "hi"],
      },
    },
    {
      name: "privileged, a dropped capability, seccomp, CPU and memory limits and a device",
      image: "busybox",
      ctrArgs: [
        "--privileged",
        "--cap-drop",
        "CAP_SYS_ADMIN",
        "--seccomp",
        "--cpu-quota",
        "50000",
        "--cpu-period",
        "100000",
        "--memory-limit",
        "67108864",
        "--device",
        "/dev/null",
      ],
      flags: {
        linux: [
          ...withPrivilegedHost,
          withDroppedCapabilities(["CAP_SYS_ADMIN"]),
          withDefaultSeccomp,
          withCpuCfs(50_000, 100_000),
          withMemoryLimit(67_108_864),
          withDevices("/dev/null"),
        ],
      },
    },
    { name: "a named user with supplementary groups, workdir, entrypoint and env", image: "user", ctrArgs: [], flags: {} },
    { name: "a named user with args replacing the image's command line", image: "user", ctrArgs: [], flags: { args: ["ls", "/"] } },
    { name: "a uid missing from /etc/passwd", image: "numeric", ctrArgs: [], flags: {} },
    { name: "user:group names", image: "group", ctrArgs: [], flags: {} },
  ];

  for (const [index, testCase] of cases.entries()) {
    it(`makes the spec stock ctr makes: ${testCase.name}`, async () => {
      const id = `spec${index}`;
      const ref = refs[testCase.image]!;
      const created = await runCommand(stockCtr!, [
        "--address",
        containerd.address,
        "-n",
        namespace,
        "containers",
        "create",
        ...testCase.ctrArgs,
        ref,
        id,
        ...(testCase.flags.args ?? []),
      ]);
      expect(created.code, created.stderr).toBe(0);
      const stockClient = await connect(containerd);
      const stock = await stockClient.containers.get(stockClient.context(), id);

      for (const daemon of [berthd, containerd]) {
        const client = await connect(daemon);
        const context = daemon === berthd ? client.context() : client.context("berth-specs");
        if (daemon === containerd) {
          const pulled = await runCommand(stockCtr!, ["--address", daemon.address, "-n", "berth-specs", "images", "pull", "--plain-http", ref]);
          expect(pulled.code).toBe(0);
        }
        const image = await readImageConfig(client, context, await client.images.get(context, ref));
        const ours = await createContainer(client, context, { id, image, labels: testCase.flags.labels, spec: ctrRunOpts(image, testCase.flags) });
        const expected = specOf(stock);
        if (daemon === containerd) (expected.linux as { cgroupsPath: string }).cgroupsPath = `/berth-specs/${id}`;
        expect(specOf(ours)).toEqual(expected);
        // Byte for byte, too: the same fields in Go's order.
        if (daemon === berthd) expect(Buffer.from(ours.spec!.value).toString()).toBe(Buffer.from(stock.spec!.value).toString());
        expect(ours.labels).toEqual(stock.labels);
        expect(ours).toMatchObject({
          image: ref,
          snapshotter: "overlayfs",
          snapshotKey: id,
          runtime: { name: "io.containerd.runc.v2", options: { typeUrl: "containerd.runc.v1.Options" } },
        });
        await client.snapshotter().remove(context, id);
        await client.containers.delete(context, id);
      }
    });
  }

  it("refuses an image user that /etc/passwd does not have, leaving no snapshot or container", async () => {
    const client = await connect(berthd);
    const image = await readImageConfig(client, client.context(), await client.images.get(client.context(), refs.busybox!));
    const withGhost = { ...image, process: { ...image.process, User: "ghost" } };
    await expect(
      createContainer(client, client.context(), { id: "ghost", image: withGhost, spec: [withImageConfig(withGhost.process)] }),
    ).rejects.toMatchObject({ kind: "NotFound" });
    await expect(client.snapshotter().stat(client.context(), "ghost")).rejects.toMatchObject({ kind: "NotFound" });
    await expect(client.containers.get(client.context(), "ghost")).rejects.toMatchObject({ kind: "NotFound" });
  });
});
