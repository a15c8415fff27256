import type { CallContext, ContentStore, ImageTarget } from "@berth/api";
import { Client, describeImage, describeImages } from "@berth/client";
import { digestOf, writeBlob } from "@berth/content";
import { type RunningDaemon, startBerthd } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const manifestType = "application/vnd.oci.image.manifest.v1+json";
const indexType = "application/vnd.oci.image.index.v1+json";

/** Stores `value` as JSON and returns its descriptor. */
async function putJson(client: Client, context: CallContext, mediaType: string, value: unknown): Promise<ImageTarget> {
  const data = Buffer.from(JSON.stringify(value));
  const { digest, size } = await writeBlob(client.content, context, `summaries-${digestOf(data)}`, data);
  return { mediaType, digest, size, annotations: {} };
}

/** The daemon's content store, counting the reads of each digest. */
function countingReads(content: ContentStore): { store: ContentStore; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const store = Object.create(content) as ContentStore;
  store.read = (context, digest, offset, length) => {
    reads.set(digest, (reads.get(digest) ?? 0) + 1);
    return content.read(context, digest, offset, length);
  };
  return { store, reads };
}

describe("describeImages (ctr images ls's SIZE and PLATFORMS)", () => {
  let daemon: RunningDaemon;
  let client: Client;
  let context: CallContext;
  let targets: ImageTarget[];

  beforeAll(async () => {
    daemon = await startBerthd();
    client = await Client.connect({ address: daemon.address });
    context = client.context();
    const config = (os: string, architecture: string) => putJson(client, context, "application/vnd.oci.image.config.v1+json", { os, architecture });
    const manifestOf = async (configTarget: ImageTarget, layerSize: number) =>
      putJson(client, context, manifestType, {
        schemaVersion: 2,
        mediaType: manifestType,
        config: { mediaType: configTarget.mediaType, digest: configTarget.digest, size: configTarget.size },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: digestOf(Buffer.from(`layer ${layerSize}`)), size: layerSize }],
      });
    const amd64 = await manifestOf(await config("linux", "amd64"), 1000);
    const arm64 = await manifestOf(await config("linux", "arm64"), 2000);
    const index = await putJson(client, context, indexType, {
      schemaVersion: 2,
      mediaType: indexType,
      manifests: [
        { ...amd64, platform: { os: "linux", architecture: "amd64" } },
        { ...arm64, platform: { os: "linux", architecture: "arm64" } },
      ],
    });
    const missing: ImageTarget = { mediaType: manifestType, digest: digestOf(Buffer.from("not stored")), size: 42, annotations: {} };
    targets = [amd64, index, amd64, missing, arm64, amd64, index];
  });
  afterAll(async () => {
    client?.close();
    await daemon?.cleanup();
  });

  it("gives each image what describeImage gives it, in order, reading a blob that images share once", async () => {
    const one = [];
    for (const target of targets) one.push(await describeImage(client.content, context, target));
    const { store, reads } = countingReads(client.content);
    const many = await describeImages(store, context, targets, 3);
    expect(many).toEqual(one);
    expect(many.map((summary) => summary.platforms.join(","))).toEqual([
      "linux/amd64",
      "linux/amd64,linux/arm64",
      "linux/amd64",
      "",
      "linux/arm64",
      "linux/amd64",
      "linux/amd64,linux/arm64",
    ]);
    expect(Math.max(...reads.values())).toBe(1);
  });
});
