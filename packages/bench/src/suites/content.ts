import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomFillSync } from "node:crypto";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { testDirectory } from "@berth/testkit";
import { median, withTimeout } from "../measure.js";

/** A blob of random bytes in a temp dir of its own, changed before each ingest so that its digest differs. */
export interface IngestBlob {
  readonly path: string;
  readonly size: number;
  /** Overwrites the first 32 bytes with random ones: a new digest. */
  vary(): void;
  /** Removes the file and its directory. */
  remove(): void;
}

/** Writes `size` random bytes (in 1 MiB chunks) to a new temp file. */
export function createIngestBlob(size = 200e6): IngestBlob {
  const directory = testDirectory("bench-ingest");
  const path = join(directory, "blob");
  const remove = () => rmSync(directory, { recursive: true, force: true });
  try {
    const fd = openSync(path, "w");
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (let written = 0; written < size;) {
        const length = Math.min(chunk.length, size - written);
        randomFillSync(chunk, 0, length);
        written += writeSync(fd, chunk, 0, length, written);
      }
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    remove();
    throw error;
  }
  return {
    path,
    size,
    vary() {
      const fd = openSync(path, "r+");
      try {
        writeSync(fd, randomBytes(32), 0, 32, 0);
      } finally {
        closeSync(fd);
      }
    },
    remove,
  };
}

/** Children running now, killed if the bench exits (or is interrupted) while they run. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Runs `command args` with stdin read straight from the file at `stdinPath`; rejects unless it exits 0 within `timeoutMs`. */
async function runWithStdinFile(command: string, args: readonly string[], stdinPath: string, timeoutMs: number): Promise<void> {
  const input = await open(stdinPath, "r");
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: [input.fd, "ignore", "pipe"] });
  } finally {
    // The child has its own copy of the descriptor now.
    await input.close();
  }
  running.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      running.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} exited with ${signal ?? code}: ${stderr.trim()}`));
    });
  });
  try {
    await withTimeout(exited, timeoutMs, `${command} ${args.join(" ")}`, () => child.kill("SIGKILL"));
  } catch (error) {
    exited.catch(() => {});
    throw error;
  }
}

export interface IngestOptions {
  /** Runs; the median counts. */
  readonly runs?: number;
  /** Bound of each run. */
  readonly timeoutMs?: number;
  /** Namespace to ingest into. */
  readonly namespace?: string;
  /** Distinguishes the refs of this call from other calls' on the same daemon. */
  readonly label?: string;
}

let calls = 0;

/**
 * Ingest throughput in MB/s (10^6 bytes/s) of `ctr --address <address> content ingest <ref>` with
 * `blob` on stdin: the median of `runs` runs, each with a fresh ref and a changed blob (so that
 * its digest is new to the daemon).
 */
export async function ingestMbPerSecond(ctr: string, address: string, blob: IngestBlob, options: IngestOptions = {}): Promise<number> {
  const { runs = 3, timeoutMs = 60_000, namespace = "bench", label = "ingest" } = options;
  const call = ++calls;
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    blob.vary();
    const ref = `bench-${label}-${process.pid}-${call}-${run}`;
    const start = performance.now();
    await runWithStdinFile(ctr, ["--address", address, "-n", namespace, "content", "ingest", ref], blob.path, timeoutMs);
    const seconds = (performance.now() - start) / 1000;
    samples.push(blob.size / 1e6 / seconds);
  }
  return median(samples);
}
