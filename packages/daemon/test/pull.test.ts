import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, pull } from "@berth/client";
import { withMounts } from "@berth/mount";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  startRegistryProxy,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("pulling from a registry into berthd", () => {
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  const busybox = buildBusyboxImage();
  beforeAll(async () => {
    registry = await startRegistry();
    berthd = await startBerthd();
    await pushTestImage(busybox, { url: registry.url, repository: "library/busybox", tag: "latest" });
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await registry?.stop();
  });

  it("fetches, records and unpacks an image that runs from its snapshot", async () => {
    const client = await Client.connect({ address: berthd.address, namespace: "pulled" });
    const scratch = mkdtempSync(join(tmpdir(), "berth-test-pull-"));
    try {
      const ref = `${registry.host}/library/busybox:latest`;
      const events: string[] = [];
      const image = await pull(client, ref, { plainHttp: true, progress: (e) => events.push(`${e.status} ${e.descriptor.digest}`) });
      expect(image).toMatchObject({ name: ref, target: { digest: busybox.manifest.digest } });
      const manifestInfo = await client.content.info(client.context(), busybox.manifest.digest);
      expect(manifestInfo.labels).toMatchObject({
        "containerd.io/gc.ref.content.config": busybox.config.digest,
        "containerd.io/gc.ref.content.l.0": busybox.layers[0]!.digest,
      });
      const layerInfo = await client.content.info(client.context(), busybox.layers[0]!.digest);
      expect(layerInfo.labels["containerd.io/uncompressed"]).toBe(busybox.diffIds[0]);
      const top = busybox.diffIds[0]!;
      expect((await client.snapshotter().stat(client.context(), top)).kind).toBe("committed");
      // The unpacked root filesystem holds busybox, executable. The view is leased: the GC the
      // pull's lease removal scheduled would take an unreferenced one.
      const lease = await client.leases.create(client.context(), { id: "look", labels: {} });
      const leased = { ...client.context(), lease: lease.id };
      await client.snapshotter().view(leased, "look", top);
      const mounts = await client.snapshotter().mounts(client.context(), "look");
      await withMounts(
        mounts,
        (root) => {
          expect(statSync(join(root, "bin/busybox")).mode & 0o111).not.toBe(0);
          expect(readFileSync(join(root, "etc/passwd"), "utf8")).toContain("root:");
        },
        { tempDir: scratch },
      );
      await client.snapshotter().remove(client.context(), "look");
      await client.leases.delete(client.context(), lease.id);
      expect(events.filter((e) => e.startsWith("done"))).toHaveLength(3);

      if (stockContainerdInstalled) {
        const checked = await runCommand(stockCtr!, ["--address", berthd.address, "-n", "pulled", "images", "check"]);
        expect(checked.stdout).toMatch(new RegExp(`${ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} .* complete \\(2/2\\) .* true\\n$`));
      }
    } finally {
      client.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("pulls into a second namespace without fetching a blob again", async () => {
    const ref = `${registry.host}/library/busybox:latest`;
    for (const namespace of ["first", "second"]) {
      const client = await Client.connect({ address: berthd.address, namespace });
      try {
        const events: string[] = [];
        await pull(client, ref, { plainHttp: true, progress: (e) => events.push(e.status) });
        if (namespace === "second") expect(events.filter((s) => s === "done" || s === "exists")).toEqual(["exists", "exists", "exists"]);
      } finally {
        client.close();
      }
    }
  });

  it("re-pulls into the same namespace reading what it has: no blob or manifest GET, no ingest, labels kept", async () => {
    const proxy = await startRegistryProxy(registry.host);
    const client = await Client.connect({ address: berthd.address, namespace: "again" });
    try {
      const ref = `${proxy.host}/library/busybox:latest`;
      await pull(client, ref, { plainHttp: true });
      const before = proxy.requests.length;
      const events: string[] = [];
      await pull(client, ref, { plainHttp: true, progress: (e) => events.push(e.status) });
      const again = proxy.requests.slice(before).map((r) => `${r.method} ${r.url}`);
      // Only the tag is resolved again; everything under it comes from the content store.
      expect(again.filter((r) => r.includes("/blobs/") || r.includes("/manifests/sha256:"))).toEqual([]);
      expect(again.length).toBeGreaterThan(0);
      expect(events.filter((s) => s === "done" || s === "exists")).toEqual(["exists", "exists", "exists"]);
      expect(await client.content.listStatuses(client.context(), [])).toEqual([]);
      const manifestInfo = await client.content.info(client.context(), busybox.manifest.digest);
      expect(manifestInfo.labels).toMatchObject({
        "containerd.io/gc.ref.content.config": busybox.config.digest,
        // As containerd: the registry's host without its port.
        [`containerd.io/distribution.source.${proxy.host.replace(/:\d+$/, "")}`]: "library/busybox",
      });
    } finally {
      client.close();
      await proxy.close();
    }
  });
});
