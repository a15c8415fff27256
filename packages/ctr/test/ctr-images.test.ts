import { fileURLToPath } from "node:url";
import type { CallContext } from "@berth/api";
import { Client } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import { type RunningDaemon, runCommand, startBerthd, startStockContainerd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));

/** An image whose manifest and config are in the store but whose one layer is not. */
async function partialImage(client: Client, context: CallContext): Promise<void> {
  const put = async (data: Buffer, labels: Record<string, string> = {}) =>
    (await writeBlob(client.content, context, `fixture-${digestOf(data)}`, data, { labels })).digest;
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const configDigest = await put(config);
  const layer = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: digestOf(Buffer.from("absent layer")), size: 12 };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
      layers: [layer],
    }),
  );
  const manifestDigest = await put(manifest, { "containerd.io/gc.ref.content.config": configDigest });
  const target = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: manifestDigest, size: manifest.length, annotations: {} };
  await client.images.create(context, { name: "example.com/partial:1", labels: { team: "berth" }, target });
}

const daemons: { name: string; start: () => Promise<RunningDaemon | undefined> }[] = [
  { name: "berthd", start: () => startBerthd() },
  { name: "stock containerd", start: startStockContainerd },
];

for (const { name, start } of daemons) {
  describe.skipIf(!stockContainerdInstalled)(`Berth's ctr images against ${name}, beside stock ctr`, () => {
    let daemon: RunningDaemon;
    const berth = (args: string[]) => runCommand(process.execPath, [berthCtr, "--address", daemon.address, ...args], { env: { PATH: process.env.PATH } });
    const stock = (args: string[]) => runCommand(stockCtr!, ["--address", daemon.address, ...args]);
    beforeAll(async () => {
      daemon = (await start())!;
      const client = await Client.connect({ address: daemon.address });
      try {
        await partialImage(client, client.context());
      } finally {
        client.close();
      }
    });
    afterAll(async () => {
      await daemon?.cleanup();
    });

    for (const command of [
      ["images", "ls"],
      ["images", "ls", "-q"],
      ["images", "check"],
      ["images", "ls", "labels.team==berth"],
    ]) {
      it(`prints what stock ctr prints for '${command.join(" ")}'`, async () => {
        const [ours, theirs] = [await berth(command), await stock(command)];
        expect(ours.code).toBe(0);
        expect(ours.stdout).toBe(theirs.stdout);
      });
    }

    it("labels and removes an image as stock ctr does", async () => {
      expect((await berth(["images", "label", "example.com/partial:1", "x=y"])).stdout).toBe("team=berth,x=y\n");
      expect((await stock(["images", "label", "example.com/partial:1", "x="])).stdout).toBe("team=berth\n");
      expect((await berth(["images", "rm", "--sync", "example.com/partial:1"])).stdout).toBe("example.com/partial:1\n");
      expect((await stock(["images", "ls", "-q"])).stdout).toBe("");
    });
  });
}
