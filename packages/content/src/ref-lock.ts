import { unavailable } from "@berth/api";
import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { link, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode, isNotFound, readOptionalText, uniqueSuffix } from "./fs-util.js";
import { ingestFiles } from "./layout.js";

/**
 * The cross-process half of a ref's exclusive lock: a file `lock` in the ingest directory naming
 * the owning process as `<pid> <start time> <nonce>`. The start time (from /proc) tells a live
 * owner from a dead one whose pid was reused, e.g. a restarted daemon that is pid 1 again in its
 * container. A lock whose owner is gone is stale and is taken over, so an ingest whose writer
 * was killed can be resumed. (Within one store instance an in-memory set answers first.)
 */
export class RefLock {
  constructor(
    readonly path: string,
    readonly token: string,
  ) {}

  /** Removes the lock file if it is still ours. */
  async release(): Promise<void> {
    if (readOptionalText(this.path) === this.token) rmSync(this.path, { force: true });
  }
}

/**
 * Takes the lock of the ingest directory `dir`. Unavailable while a live process holds it.
 * Returns undefined when `dir` does not exist and `createDir` is false.
 */
export async function acquireRefLock(dir: string, ref: string, createDir: boolean): Promise<RefLock | undefined> {
  const path = join(dir, ingestFiles.lock);
  const token = `${process.pid} ${(await ownStartTime()) ?? "-"} ${randomBytes(8).toString("hex")}\n`;
  for (let attempt = 0; attempt < 8; attempt++) {
    const outcome = createExclusive(dir, path, token);
    if (outcome === "created") return new RefLock(path, token);
    if (outcome === "no-dir") {
      if (!createDir) return undefined;
      mkdirSync(dir, { recursive: true });
      continue;
    }
    const seen = readOptionalText(path);
    if (seen === undefined) continue; // released in the meantime
    if (await ownerAlive(seen)) throw unavailable(`ref ${JSON.stringify(ref)} locked by process ${seen.split(" ")[0] ?? "?"}`);
    await removeStale(path, seen, ref);
  }
  throw unavailable(`ref ${JSON.stringify(ref)} is contended`);
}

/**
 * O_EXCL creation, done as link(2) of a fully written temp file: equally atomic and no-clobber,
 * but the lock never exists empty, so a reader never has to guess whether it is being written.
 */
function createExclusive(dir: string, path: string, token: string): "created" | "exists" | "no-dir" {
  const temp = join(dir, `.lock.${uniqueSuffix()}.tmp`);
  try {
    writeFileSync(temp, token, { flag: "wx", mode: 0o644 });
  } catch (error) {
    if (isNotFound(error)) return "no-dir";
    throw error;
  }
  try {
    linkSync(temp, path);
    return "created";
  } catch (error) {
    if (errnoCode(error) === "EEXIST") return "exists";
    if (isNotFound(error)) return "no-dir"; // the directory was removed under us (abort, commit)
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Moves the stale lock aside and checks that what moved is the stale lock we judged. If another
 * process replaced it with a live lock in between, that lock is put back and we give way.
 */
export async function removeStale(path: string, seen: string, ref: string): Promise<void> {
  const aside = `${path}.${uniqueSuffix()}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  const moved = readOptionalText(aside);
  if (moved === seen) {
    await rm(aside, { force: true });
    return;
  }
  try {
    await link(aside, path);
  } catch {
    // someone created a newer lock already; theirs stands
  } finally {
    await rm(aside, { force: true });
  }
  throw unavailable(`ref ${JSON.stringify(ref)} was taken over by another process`);
}

/** Whether the process a lock file names is still running (the same process, not a pid reuse). */
export async function ownerAlive(lockText: string): Promise<boolean> {
  const [pidText = "", start = "-"] = lockText.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false; // not a lock we or anyone could hold
  const stat = await procStat(pid);
  if (stat === "no-proc") return signalZero(pid);
  if (stat === undefined) return false;
  if (stat.state === "Z" || stat.state === "X") return false; // killed, not yet reaped
  return start === "-" || stat.start === start;
}

function signalZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === "EPERM";
  }
}

interface ProcStat {
  readonly state: string;
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. */
  readonly start: string;
}

/** undefined: no such process; "no-proc": this system has no /proc to ask. */
async function procStat(pid: number): Promise<ProcStat | undefined | "no-proc"> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    if (!isNotFound(error) && errnoCode(error) !== "ESRCH") throw error;
    return (await procAvailable()) ? undefined : "no-proc";
  }
  // comm (field 2) is parenthesised and may itself hold spaces or parentheses
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "", start: fields[19] ?? "" };
}

let procChecked: Promise<boolean> | undefined;
function procAvailable(): Promise<boolean> {
  procChecked ??= readFile("/proc/self/stat").then(
    () => true,
    () => false,
  );
  return procChecked;
}

let ownStart: Promise<string | undefined> | undefined;
function ownStartTime(): Promise<string | undefined> {
  ownStart ??= procStat(process.pid).then((stat) => (typeof stat === "object" ? stat.start : undefined));
  return ownStart;
}
