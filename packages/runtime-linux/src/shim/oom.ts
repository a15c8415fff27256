import { readFileSync } from "node:fs";
import { join } from "node:path";
import { locateCgroupOfPid } from "../cgroups/location.js";

const pollIntervalMs = 2_000;

/**
 * How many times the kernel's OOM killer acted in the memory cgroup of `pid` (`oom_kill` of v1's
 * memory.oom_control or v2's memory.events); undefined when that cannot be read.
 */
function oomKills(file: string): number | undefined {
  try {
    const match = /^oom_kill (\d+)$/m.exec(readFileSync(file, "utf8"));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

function oomFileOf(pid: number): string | undefined {
  try {
    const location = locateCgroupOfPid(pid);
    if (location.version === 2) return join(location.directory, "memory.events");
    const memory = location.directories.get("memory");
    return memory === undefined ? undefined : join(memory, "memory.oom_control");
  } catch {
    return undefined;
  }
}

/**
 * Notices OOM kills in containers' memory cgroups, by their counters: on a slow poll while they
 * run, and on demand (before a container's exit is reported, so that /tasks/oom comes first).
 */
export class OomWatcher {
  readonly #watched = new Map<string, { file: string; kills: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly onOom: (containerId: string) => void) {}

  /** Starts watching the cgroup `pid` is in, counting from now. */
  watch(containerId: string, pid: number): void {
    const file = oomFileOf(pid);
    if (file === undefined) return;
    this.#watched.set(containerId, { file, kills: oomKills(file) ?? 0 });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => {
        for (const id of this.#watched.keys()) this.check(id);
      }, pollIntervalMs);
      this.#timer.unref();
    }
  }

  check(containerId: string): void {
    const watched = this.#watched.get(containerId);
    if (watched === undefined) return;
    const kills = oomKills(watched.file);
    if (kills === undefined || kills <= watched.kills) return;
    watched.kills = kills;
    this.onOom(containerId);
  }

  unwatch(containerId: string): void {
    this.#watched.delete(containerId);
    if (this.#watched.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
