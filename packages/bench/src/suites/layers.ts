import { createHash, randomFillSync } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { CallContext } from "@berth/api";
import type { Client } from "@berth/client";
import { writeBlob } from "@berth/content";
import { defaultSnapshotterFor, mediaTypes } from "@berth/oci";
import { median } from "../measure.js";
import { type SnapshotStack, leasedRun } from "./snapshots.js";

export const gzipLayerType = mediaTypes.ociLayerGzip;

/** A gzipped tar layer held in memory. */
export interface Layer {
  /** The gzipped tar: the blob to store. */
  readonly data: Buffer;
  /** Its digest, `sha256:…`. */
  readonly digest: string;
  /** Bytes of the uncompressed tar. */
  readonly tarSize: number;
  /** The uncompressed tar's digest: the diff ID an apply should return. */
  readonly diffId: string;
  readonly files: number;
}

export interface LayerOptions {
  readonly directories?: number;
  readonly filesPerDirectory?: number;
  readonly fileSize?: number;
  /** zlib level (default 6, as containerd's and Docker's layers). */
  readonly level?: number;
}

const blockSize = 512;
const padded = (size: number) => Math.ceil(size / blockSize) * blockSize;
const mtime = 1_700_000_000;

function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  header.write(`${value.toString(8).padStart(length - 1, "0")}\0`, offset, length, "ascii");
}

/** Writes a ustar header for `name` (a regular file of `size` bytes, or a directory) at `offset` of `tar`. */
function writeHeader(tar: Buffer, offset: number, name: string, type: "file" | "directory", size: number): void {
  if (Buffer.byteLength(name) > 100) throw new RangeError(`tar name too long: ${name}`);
  const header = tar.subarray(offset, offset + blockSize);
  header.fill(0);
  header.write(name, 0, 100, "utf8");
  writeOctal(header, type === "directory" ? 0o755 : 0o644, 100, 8);
  writeOctal(header, 0, 108, 8); // uid
  writeOctal(header, 0, 116, 8); // gid
  writeOctal(header, size, 124, 12);
  writeOctal(header, mtime, 136, 12);
  header.fill(" ", 148, 156); // the checksum counts its own field as spaces
  header.write(type === "directory" ? "5" : "0", 156, 1, "ascii");
  header.write("ustar\0", 257, 6, "ascii");
  header.write("00", 263, 2, "ascii");
  header.write("root", 265, 32, "ascii");
  header.write("root", 297, 32, "ascii");
  let checksum = 0;
  for (const byte of header) checksum += byte;
  header.write(`${checksum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
}

const sha256 = (data: Uint8Array) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/**
 * An uncompressed tar of `directories` directories of `filesPerDirectory` files of `fileSize`
 * random bytes each (by default 6 × 100 × 100 kB: 60 MB of file data), gzipped.
 */
export function createLayer(options: LayerOptions = {}): Layer {
  const { directories = 6, filesPerDirectory = 100, fileSize = 100_000, level = 6 } = options;
  const tarSize = directories * blockSize + directories * filesPerDirectory * (blockSize + padded(fileSize)) + 2 * blockSize;
  const tar = Buffer.alloc(tarSize);
  let offset = 0;
  for (let d = 0; d < directories; d++) {
    const directory = `bench/dir-${String(d).padStart(2, "0")}/`;
    writeHeader(tar, offset, directory, "directory", 0);
    offset += blockSize;
    for (let f = 0; f < filesPerDirectory; f++) {
      writeHeader(tar, offset, `${directory}file-${String(f).padStart(4, "0")}`, "file", fileSize);
      offset += blockSize;
      randomFillSync(tar, offset, fileSize);
      offset += padded(fileSize);
    }
  }
  // The rest (two zero blocks) ends the archive.
  if (offset + 2 * blockSize !== tarSize) throw new Error(`tar layout: ${offset + 2 * blockSize} bytes, not ${tarSize}`);
  const data = gzipSync(tar, { level });
  return { data, digest: sha256(data), tarSize, diffId: sha256(tar), files: directories * filesPerDirectory };
}

export interface ApplyOptions {
  /** Namespace of the run; it should be used by no other benchmark. */
  readonly namespace?: string;
  /** Timed applies; the median counts. */
  readonly runs?: number;
  /** Bound of the whole run: writing the blob and every apply. */
  readonly timeoutMs?: number;
  readonly snapshotter?: string;
}

/**
 * Layer apply throughput in MB/s (10^6 uncompressed tar bytes per second): `layer` is written to
 * the daemon's content store under a lease, then for each run a fresh snapshot is prepared (on no
 * parent), Diff.Apply of the layer onto its mounts is timed, and the snapshot is removed. Each
 * apply must return the tar's digest as its diff ID. The median of `runs` runs.
 */
export async function layerApplyMbPerSecond(client: Client, layer: Layer, options: ApplyOptions = {}): Promise<number> {
  const { namespace = "bench-layers", runs = 3, timeoutMs = 90_000, snapshotter = defaultSnapshotterFor() } = options;
  const snapshots = client.snapshotter(snapshotter);
  let progress = "creating the lease";
  const run = async (context: CallContext, stack: SnapshotStack) => {
    progress = `writing the ${(layer.data.length / 1e6).toFixed(1)} MB blob`;
    await writeBlob(client.content, context, `bench-layer-${process.pid}`, layer.data, { expected: layer.digest });
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      progress = `apply ${i + 1} of ${runs}`;
      const key = `bench-apply-${process.pid}-${i}`;
      stack.push(key); // before the call: one cut short by the timeout may still have been made
      const mounts = await snapshots.prepare(context, key, "");
      const start = performance.now();
      const applied = await client.diff.apply(context, { mediaType: gzipLayerType, digest: layer.digest, size: layer.data.length }, mounts);
      const seconds = (performance.now() - start) / 1000;
      if (applied.digest !== layer.diffId) throw new Error(`apply ${i + 1} returned diff ID ${applied.digest}, not ${layer.diffId}`);
      samples.push(layer.tarSize / 1e6 / seconds);
      progress = `removing the snapshot of apply ${i + 1}`;
      await snapshots.remove(context, key);
      stack.pop();
    }
    return median(samples);
  };
  return leasedRun(client, namespace, run, { timeoutMs, what: () => `layer apply (${progress})`, snapshotter });
}
