import { Client } from "@berth/client";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  buildMultiPlatformIndex,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contentDigests, dist, escapeRegExp } from "./helpers.js";

const daemons: { name: string; start: () => Promise<RunningDaemon | undefined> }[] = [
  { name: "berthd", start: () => startBerthd({ logLevel: "info" }) },
  ...(stockContainerdInstalled ? [{ name: "stock containerd", start: startStockContainerd }] : []),
];

const busybox = buildBusyboxImage();
const multi = buildMultiPlatformIndex();
let registry: RunningRegistry;

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(busybox, { url: registry.url, repository: "library/busybox", tag: "1.36" });
  await pushTestImage(multi, { url: registry.url, repository: "library/multi", tag: "latest" });
});
afterAll(async () => {
  await registry?.stop();
});

for (const { name, start } of daemons) {
  describe(`dist pull against ${name}`, () => {
    let daemon: RunningDaemon;
    beforeAll(async () => {
      daemon = (await start())!;
    });
    afterAll(async () => {
      await daemon?.cleanup();
    });

    it("shows a bar per descriptor, elapsed time and throughput as in the seed, and leaves an unpacked image", async () => {
      const ref = `${registry.host}/library/busybox:1.36`;
      const pulled = await dist(daemon.address, ["pull", "--plain-http", ref]);
      expect(pulled.code, pulled.stderr).toBe(0);
      const bar = escapeRegExp(`|${"+".repeat(38)}|`);
      const lines = pulled.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(new RegExp(`^${escapeRegExp(ref)}: +resolved +${bar} *$`));
      for (const [kind, descriptor] of [["manifest", busybox.manifest], ["config", busybox.config], ["layer", busybox.layers[0]!]] as const) {
        expect(pulled.stdout).toMatch(new RegExp(`^${kind}-${descriptor.digest}: +done +${bar} *$`, "m"));
      }
      expect(lines.at(-1)).toMatch(/^elapsed: \d+\.\d *s +total: +\d+\.\d [KMG]?i?B? *\(\d+\.\d [KMG]?i?B\/s\) *$/);
      expect(pulled.stderr).toMatch(/^INFO\[\d{4}\] unpacking rootfs\nINFO\[\d{4}\] Unpacked chain id: sha256:[a-f0-9]{64}\n$/);
      expect(pulled.stderr).toContain(`Unpacked chain id: ${busybox.diffIds[0]}`);

      const listed = await dist(daemon.address, ["images", "ls"]);
      expect(listed.stdout).toMatch(new RegExp(`^REF +TYPE +DIGEST +SIZE *\\n${escapeRegExp(ref)} +${escapeRegExp(busybox.manifest.mediaType)} +${busybox.manifest.digest} +\\d+\\.\\d (KiB|MiB) *\\n$`));
      if (stockCtr !== undefined) {
        const checked = await runCommand(stockCtr, ["--address", daemon.address, "images", "check"]);
        expect(checked.stdout).toMatch(/complete \(2\/2\) .* true\n$/);
      }
    });

    it("pulls into a second namespace moving no byte: every descriptor exists, total 0.0 B", async () => {
      const ref = `${registry.host}/library/busybox:1.36`;
      const pulled = await dist(daemon.address, ["pull", "--plain-http", ref], "second");
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(pulled.stdout).toMatch(new RegExp(`^layer-${busybox.layers[0]!.digest}: +exists `, "m"));
      expect(pulled.stdout).toMatch(/total: +0\.0 B\t?.*\(0\.0 B\/s\)/);
      expect((await dist(daemon.address, ["images", "ls", "-q"], "second")).stdout).toBe(`${ref}\n`);
    });

    it("says which reference it cannot resolve, as dist: …", async () => {
      const result = await dist(daemon.address, ["pull", "--plain-http", `${registry.host}/library/absent:1`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^dist: .*absent:1.*not found/m);
    });
  });
}

describe.skipIf(!stockContainerdInstalled)("dist pull --platform and --all-platforms on an index, beside stock ctr pull into stock containerd", () => {
  let berthd: RunningDaemon;
  let containerd: RunningDaemon;
  beforeAll(async () => {
    [berthd, containerd] = await Promise.all([startBerthd({ logLevel: "info" }), startStockContainerd().then((d) => d!)]);
  });
  afterAll(async () => {
    await Promise.all([berthd?.cleanup(), containerd?.cleanup()]);
  });

  for (const [namespace, flags] of [["arm64", ["--platform", "linux/arm64"]], ["all", ["--all-platforms"]], ["host", []]] as const) {
    it(`fetches, records and unpacks what containerd does with ${flags.join(" ") || "no platform flag"}`, async () => {
      const ref = `${registry.host}/library/multi:latest`;
      const ours = await dist(berthd.address, ["pull", "--plain-http", ...flags, ref], namespace);
      expect(ours.code, ours.stderr).toBe(0);
      const theirs = await runCommand(stockCtr!, ["--address", containerd.address, "-n", namespace, "images", "pull", "--plain-http", ...flags, ref], { timeoutMs: 60_000 });
      expect(theirs.code, theirs.stderr).toBe(0);

      const digests = async (daemon: RunningDaemon) => {
        const client = await Client.connect({ address: daemon.address, namespace });
        try {
          return await contentDigests(client);
        } finally {
          client.close();
        }
      };
      const berthDigests = await digests(berthd);
      expect(berthDigests).toEqual(await digests(containerd));
      const arm64Config = multi.blobs.get(multi.manifests[1]!.digest)!;
      const armConfigDigest = (JSON.parse(Buffer.from(arm64Config).toString()) as { config: { digest: string } }).config.digest;
      expect(berthDigests.includes(armConfigDigest)).toBe(namespace !== "host");
      expect(berthDigests.includes(multi.config.digest)).toBe(namespace !== "arm64");

      for (const command of [["images", "ls"], ["images", "check"], ["snapshots", "ls"]]) {
        const [b, c] = await Promise.all([berthd, containerd].map((d) => runCommand(stockCtr!, ["--address", d.address, "-n", namespace, ...command])));
        expect(b!.stdout, command.join(" ")).toBe(c!.stdout);
      }
    });
  }

  it("refuses a platform the index does not have, as containerd (no match for platform), recording nothing", async () => {
    const ref = `${registry.host}/library/multi:latest`;
    const result = await dist(berthd.address, ["pull", "--plain-http", "--platform", "linux/s390x", ref], "none");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^dist: .*no match for platform linux\/s390x/m);
    expect((await dist(berthd.address, ["images", "ls", "-q"], "none")).stdout).toBe("");
  });
});
