import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isKind } from "@berth/api";
import { Client } from "@berth/client";
import { mountPoints } from "@berth/mount";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildMultiLayerImage,
  dockerArchive,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
  testDirectory,
} from "@berth/testkit";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { berthCtr, dist } from "./helpers.js";

const image = buildMultiLayerImage();

/** Member names and the parsed index.json of a tar file. */
async function readLayout(path: string): Promise<{ names: string[]; index: { manifests: { digest: string; annotations?: Record<string, string> }[] } }> {
  const extract = tar.extract();
  const names: string[] = [];
  let index = { manifests: [] };
  const done = (async () => {
    for await (const entry of extract) {
      names.push(entry.header.name);
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (entry.header.name === "index.json") index = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    }
  })();
  extract.end(readFileSync(path));
  await done;
  return { names: names.sort(), index };
}

describe("dist export and import, with no registry reachable", () => {
  let registry: RunningRegistry | undefined;
  let berthd: RunningDaemon;
  let containerd: RunningDaemon | undefined;
  let client: Client;
  const scratch = testDirectory("archives");
  const ref = () => `127.0.0.1:${registryPort}/library/layers:1`;
  let registryPort = "";
  const archive = join(scratch, "layers.tar");

  beforeAll(async () => {
    registry = await startRegistry();
    registryPort = registry.host.split(":")[1]!;
    [berthd, containerd] = await Promise.all([startBerthd({ logLevel: "info" }), stockContainerdInstalled ? startStockContainerd() : Promise.resolve(undefined)]);
    client = await Client.connect({ address: berthd.address });
    await pushTestImage(image, { url: registry.url, repository: "library/layers", tag: "1" });
    const pulled = await dist(berthd.address, ["pull", "--plain-http", ref()]);
    expect(pulled.code, pulled.stderr).toBe(0);
    await registry.stop();
    registry = undefined;
  });
  afterAll(async () => {
    client?.close();
    await Promise.all([berthd?.cleanup(), containerd?.cleanup(), registry?.stop()]);
    for (const point of mountPoints().filter((p) => p.startsWith(scratch))) await runCommand("umount", ["-l", point]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it("exports an OCI layout with containerd's name annotations and Docker's manifest.json", async () => {
    const exported = await dist(berthd.address, ["export", archive, ref()]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toBe("");
    const { names, index } = await readLayout(archive);
    const blobs = [image.manifest, image.config, ...image.layers].map((d) => `blobs/sha256/${d.digest.slice(7)}`).sort();
    expect(names).toEqual(["blobs/", "blobs/sha256/", ...blobs, "index.json", "manifest.json", "oci-layout"]);
    expect(index.manifests).toEqual([
      { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size, annotations: { "io.containerd.image.name": ref(), "org.opencontainers.image.ref.name": "1" } },
    ]);
  });

  it("imports the export into another namespace as an unpacked image whose rootfs has busybox", async () => {
    const imported = await dist(berthd.address, ["import", archive], "imported");
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toBe(`unpacking ${ref()} (${image.manifest.digest})...done\n`);
    if (stockCtr !== undefined) {
      const checked = await runCommand(stockCtr, ["--address", berthd.address, "-n", "imported", "images", "check"]);
      expect(checked.stdout).toMatch(/complete \(5\/5\) .* true\n$/);
    }
    const target = join(scratch, "rootfs");
    mkdirSync(target, { recursive: true });
    const mounted = await berthCtr(berthd.address, ["-n", "imported", "images", "mount", ref(), target]);
    expect(mounted.code, mounted.stderr).toBe(0);
    const chainId = (await import("@berth/client")).chainIds(image.diffIds).at(-1)!;
    expect(mounted.stdout).toBe(`${chainId}\n${target}\n`);
    try {
      expect(statSync(join(target, "bin/busybox")).mode & 0o111).not.toBe(0);
      expect(readFileSync(join(target, "etc/hostname"), "utf8")).toBe("layer-four\n");
      expect(existsSync(join(target, "tmp/remove-me"))).toBe(false);
      const run = await runCommand(join(target, "bin/busybox"), ["echo", "runs"]);
      expect(run.stdout).toBe("runs\n");
    } finally {
      const unmounted = await berthCtr(berthd.address, ["-n", "imported", "images", "unmount", "--rm", target]);
      expect(unmounted.code, unmounted.stderr).toBe(0);
      expect(unmounted.stdout).toBe(`${target}\n`);
    }
    expect(mountPoints()).not.toContain(target);
    await expect(client.snapshotter().stat({ namespace: "imported" }, target)).rejects.toSatisfy((error) => isKind(error, "NotFound"));
  });

  it("imports a docker save archive as containerd does (same manifest digest, name normalized)", async () => {
    const path = join(scratch, "docker.tar");
    writeFileSync(path, dockerArchive(image, ["layers:docker"]));
    const imported = await dist(berthd.address, ["import", path], "docker");
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/^unpacking docker\.io\/library\/layers:docker \(sha256:[a-f0-9]{64}\)\.\.\.done\n$/);
    if (containerd !== undefined) {
      const theirs = await runCommand(stockCtr!, ["--address", containerd.address, "-n", "docker", "images", "import", path], { timeoutMs: 60_000 });
      expect(theirs.code, theirs.stderr).toBe(0);
      for (const command of [["images", "ls"], ["images", "check"]]) {
        const [ours, stock] = await Promise.all([berthd, containerd].map((d) => runCommand(stockCtr!, ["--address", d.address, "-n", "docker", ...command])));
        expect(ours!.stdout, command.join(" ")).toBe(stock!.stdout);
      }
    }
  });

  it.skipIf(!stockContainerdInstalled)("stock ctr imports our export, and we import stock ctr's export", async () => {
    const theirs = await runCommand(stockCtr!, ["--address", containerd!.address, "images", "import", archive], { timeoutMs: 60_000 });
    expect(theirs.code, theirs.stderr).toBe(0);
    const checked = await runCommand(stockCtr!, ["--address", containerd!.address, "images", "check"]);
    expect(checked.stdout).toMatch(/complete \(5\/5\) .* true\n$/);

    const stockArchive = join(scratch, "stock.tar");
    const exported = await runCommand(stockCtr!, ["--address", containerd!.address, "images", "export", stockArchive, ref()], { timeoutMs: 60_000 });
    expect(exported.code, exported.stderr).toBe(0);
    // The same members as ours.
    expect((await readLayout(stockArchive)).names.filter((n) => !n.endsWith("/"))).toEqual((await readLayout(archive)).names.filter((n) => !n.endsWith("/")));
    const imported = await dist(berthd.address, ["import", stockArchive], "fromstock");
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toBe(`unpacking ${ref()} (${image.manifest.digest})...done\n`);
    const ours = await runCommand(stockCtr!, ["--address", berthd.address, "-n", "fromstock", "images", "check"]);
    expect(ours.stdout).toMatch(/complete \(5\/5\) .* true\n$/);
  });

  it("refuses an archive that is neither layout, and one whose blob does not match its name, storing nothing", async () => {
    const junk = join(scratch, "junk.tar");
    writeFileSync(junk, Buffer.alloc(10240));
    const refused = await dist(berthd.address, ["import", junk], "junk");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^dist: .*unrecognized image format/m);

    const forged = join(scratch, "forged.tar");
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on("data", (chunk) => chunks.push(chunk as Buffer));
    const finished = new Promise<void>((resolve) => pack.on("end", () => resolve()));
    const claimed = `sha256:${"ab".repeat(32)}`;
    pack.entry({ name: "oci-layout" }, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    pack.entry({ name: `blobs/sha256/${claimed.slice(7)}` }, "not what the name says");
    pack.entry({ name: "index.json" }, JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: image.manifest.mediaType, digest: claimed, size: 22, annotations: { "io.containerd.image.name": "forged:1" } }] }));
    pack.finalize();
    await finished;
    writeFileSync(forged, Buffer.concat(chunks));
    const result = await dist(berthd.address, ["import", forged], "forged");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^dist: .*(digest|expected)/m);
    expect((await client.images.list({ namespace: "forged" }, [])).length).toBe(0);
    await expect(client.content.info({ namespace: "forged" }, claimed)).rejects.toSatisfy((error) => isKind(error, "NotFound"));
  });
});
