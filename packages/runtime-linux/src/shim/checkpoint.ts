import { copyFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Any, invalidArgument } from "@berth/api";
import * as runcV1 from "@berth/api/gen/containerd/runc/v1/options";
import type { CriuOptions } from "./runc.js";

const checkpointOptionsType = "containerd.runc.v1.CheckpointOptions";

/** The runc shim's checkpoint options from a Checkpoint request's Any (none: containerd's zero options). */
export function decodeCheckpointOptions(any: Any | undefined): runcV1.CheckpointOptions {
  if (any === undefined || any.typeUrl === "") return runcV1.CheckpointOptions.fromPartial({});
  const typeUrl = any.typeUrl.replace(/^type\.googleapis\.com\//, "");
  if (typeUrl !== checkpointOptionsType) throw invalidArgument(`options: checkpoint options must be ${checkpointOptionsType}, not ${typeUrl}`);
  return runcV1.CheckpointOptions.decode(any.value);
}

/**
 * Where CRIU works during a checkpoint: the requested work path (kept), else `criu-work` in the
 * task's work directory (removed afterwards), as containerd's runc shim.
 */
export function criuWorkPath(bundle: string, requested: string): { path: string; temporary: boolean } {
  if (requested !== "") return { path: requested, temporary: false };
  const work = join(bundle, "work");
  return { path: join(existsSync(work) ? work : bundle, "criu-work"), temporary: true };
}

export function criuDumpOptions(path: string, work: string, options: runcV1.CheckpointOptions): CriuOptions {
  return {
    imagePath: path,
    workPath: work,
    openTcp: options.openTcp,
    externalUnixSockets: options.externalUnixSockets,
    terminal: options.terminal,
    fileLocks: options.fileLocks,
    emptyNamespaces: options.emptyNamespaces,
    cgroupsMode: options.cgroupsMode,
  };
}

/**
 * After a failed dump, CRIU's log is kept as `<bundle>/criu-dump.log` and named in the error, as
 * containerd's shim does (`criu failed: type DUMP errno 0 path= <bundle>/criu-dump.log`).
 */
export function keepDumpLog(bundle: string, work: string): string {
  const kept = join(bundle, "criu-dump.log");
  try {
    copyFileSync(join(work, "dump.log"), kept);
  } catch {
    // CRIU wrote no log.
  }
  return kept;
}

export function removeWork(work: { path: string; temporary: boolean }): void {
  if (work.temporary) rmSync(work.path, { recursive: true, force: true });
}
