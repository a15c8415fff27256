import { createHash } from "node:crypto";
import { type CallContext, isKind } from "@berth/api";
import type { Client } from "@berth/client";
import { mediaTypes } from "@berth/oci";
import type { CommandResult } from "@berth/testkit";
import { median, timeMs, withTimeout } from "../measure.js";
import { medianWallMs } from "./cli.js";
import { createAll, ensureNamespace } from "./seeding.js";

const manifestType = mediaTypes.ociManifest;
const configType = mediaTypes.ociConfig;

interface Blob {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly data: Buffer;
}

function blobOf(mediaType: string, value: unknown): Blob {
  const data = Buffer.from(JSON.stringify(value));
  return { mediaType, digest: `sha256:${createHash("sha256").update(data).digest("hex")}`, size: data.length, data };
}

/** A minimal OCI image: a config and a manifest that references it and no layers. */
function minimalImage(): { config: Blob; manifest: Blob } {
  const config = blobOf(configType, { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
  const manifest = blobOf(manifestType, {
    schemaVersion: 2,
    mediaType: manifestType,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [],
  });
  return { config, manifest };
}

/** Commits `blob` into the content store, with `labels`; content already there is fine. */
async function writeBlob(client: Client, context: CallContext, ref: string, blob: Blob, labels: Record<string, string> = {}): Promise<void> {
  try {
    const writer = await client.content.writer(context, { ref, total: blob.size, expected: blob.digest });
    try {
      await writer.write(blob.data);
      await writer.commit(blob.size, blob.digest, labels);
    } finally {
      await writer.close();
    }
  } catch (error) {
    if (!isKind(error, "AlreadyExists")) throw error;
    if (Object.keys(labels).length > 0)
      await client.content.update(
        context,
        { digest: blob.digest, labels },
        Object.keys(labels).map((key) => `labels.${key}`),
      );
  }
}

export interface SeedOptions {
  readonly count?: number;
  /** Create calls in flight at once. */
  readonly inFlight?: number;
  readonly timeoutMs?: number;
}

/** The name of image `index` (0-based) of a seeded namespace. */
export const seededImageName = (index: number): string => `bench.local/images/image-${String(index).padStart(4, "0")}:latest`;

/**
 * Fills `namespace` with `count` images, all pointing at one small OCI manifest (with its config),
 * written under a lease that is deleted only once the images hold the manifest (and its
 * `containerd.io/gc.ref.content.config` label the config). Returns how many it created.
 */
export async function seedImages(client: Client, namespace: string, options: SeedOptions = {}): Promise<number> {
  const { count = 1000, inFlight = 16, timeoutMs = 60_000 } = options;
  const abort = new AbortController();
  const context: CallContext = { namespace, signal: abort.signal };
  let created = 0;
  const run = async () => {
    await ensureNamespace(client, context, namespace);
    const leaseId = `bench-images-${process.pid}`;
    await client.leases.create(context, { id: leaseId, labels: {} });
    try {
      const leased: CallContext = { ...context, lease: leaseId };
      const { config, manifest } = minimalImage();
      await writeBlob(client, leased, `bench-images-config-${process.pid}`, config);
      await writeBlob(client, leased, `bench-images-manifest-${process.pid}`, manifest, { "containerd.io/gc.ref.content.config": config.digest });
      const target = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, annotations: {} };
      await createAll(count, inFlight, async (index) => {
        await client.images.create(context, { name: seededImageName(index), labels: {}, target });
        created++;
      });
    } finally {
      // After the images exist, so that garbage collection keeps the manifest and config.
      await client.leases.delete({ namespace, signal: abort.signal }, leaseId);
    }
    return created;
  };
  return withTimeout(
    run(),
    timeoutMs,
    () => `creating ${count} images (${created} created)`,
    () => abort.abort(),
  );
}

export interface ListOptions {
  /** Images the namespace should hold: fewer fails the run. */
  readonly expected: number;
  /** Timed calls (or runs); the median counts. */
  readonly samples?: number;
  /** Bound of the whole measurement (for ctr: of each run). */
  readonly timeoutMs?: number;
}

/** Median latency in ms of `calls` Images.List RPCs (no filters) in `namespace`, after one untimed call. */
export async function imagesListRpcMs(client: Client, namespace: string, options: ListOptions): Promise<number> {
  const { expected, samples: calls = 10, timeoutMs = 30_000 } = options;
  const abort = new AbortController();
  const context: CallContext = { namespace, signal: abort.signal };
  const list = async () => {
    const images = await client.images.list(context, []);
    if (images.length < expected) throw new Error(`Images.List returned ${images.length} images, not ${expected}`);
  };
  const run = async () => {
    await list();
    const samples: number[] = [];
    for (let i = 0; i < calls; i++) samples.push(await timeMs(list));
    return median(samples);
  };
  return withTimeout(run(), timeoutMs, "Images.List latency", () => abort.abort());
}

/**
 * Median wall time in ms of `runs` runs of `ctr --address <address> -n <namespace> images ls`
 * (`ctr` a command, or a command and its leading arguments such as node and Berth's ctr), after one untimed run. Each run must list `expected` images and log no error: ctr logs a failure
 * to read an image's manifest or config but still exits 0, with "-" in its row. All runs are made
 * either way; if any logged an error, the result is an error that gives the median nonetheless.
 */
export async function ctrImagesLsMs(ctr: string | readonly string[], address: string, namespace: string, options: ListOptions): Promise<number> {
  const { expected, samples: runs = 5, timeoutMs = 20_000 } = options;
  const [program, ...prefix] = typeof ctr === "string" ? [ctr] : ctr;
  const args = [...prefix, "--address", address, "-n", namespace, "images", "ls"];
  const command = `${program} ${args.join(" ")}`;
  const problems: string[] = [];
  const check = (result: CommandResult) => {
    const listed = result.stdout.split("\n").filter((line) => line.startsWith("bench.local/images/")).length;
    if (listed < expected) throw new Error(`${command} listed ${listed} images, not ${expected}`);
    const errors = result.stderr.split("\n").filter((line) => /level=(error|fatal)/.test(line));
    if (errors.length > 0) problems.push(`${errors.length} error(s), the first: ${errors[0]}`);
  };
  const result = await medianWallMs(program!, args, runs, { timeoutMs, check });
  if (problems.length > 0) {
    throw new Error(
      `${command}: ${problems.length} of ${runs + 1} runs logged errors (median ${result.toFixed(0)} ms regardless); the first logged ${problems[0]}`,
    );
  }
  return result;
}
