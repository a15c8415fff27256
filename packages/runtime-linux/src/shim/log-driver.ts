import { spawn } from "node:child_process";
import { fchownSync } from "node:fs";
import { Socket } from "node:net";
import { BerthError, invalidArgument } from "@berth/api";
import { closeFd, makePipe } from "./libc.js";
import type { SpawnTracker } from "./runc.js";

/** Who a `binary://` log driver is started for. */
export interface LogDriverContext {
  readonly containerId: string;
  readonly namespace: string;
  /** The shim's reaper: the driver is Node's child, its exit Node's to collect. */
  readonly tracker: SpawnTracker;
}

/** How long a driver may take to finish once the process's output has ended, before it is killed. */
const finishGraceMs = 10_000;

export const isBinaryUri = (uri: string): boolean => /^binary:\/\//i.test(uri);

/** The driver's argv from the URI's query, as containerd's NewBinaryCmd: each key, then its first value. */
function driverArgs(url: URL): string[] {
  const keys = [...new Set(url.searchParams.keys())];
  return keys.flatMap((key) => [key, url.searchParams.get(key) ?? ""]);
}

/**
 * A logging program for `binary:///path?key=value` stdio, as containerd's shim starts it: the
 * process's stdout and stderr are pipes whose read ends the driver gets as fds 3 and 4; fd 5 is a
 * pipe it closes (or writes to) once it is ready, and nothing runs until then. Its environment is
 * only CONTAINER_ID and CONTAINER_NAMESPACE.
 */
export class LogDriver {
  /** The pipes' write ends, for runc to hand to the process as stdout and stderr. */
  readonly stdout: number;
  readonly stderr: number;
  /** Resolves when the driver has exited (it does once both pipes reach EOF). */
  readonly finished: Promise<void>;
  #kill: () => void;

  private constructor(stdout: number, stderr: number, finished: Promise<void>, kill: () => void) {
    this.stdout = stdout;
    this.stderr = stderr;
    this.finished = finished;
    this.#kill = kill;
  }

  static async start(uri: string, context: LogDriverContext, owner: { uid: number; gid: number }): Promise<LogDriver> {
    const url = new URL(uri);
    const path = decodeURIComponent(url.pathname);
    if (path === "" || path === "/") throw invalidArgument(`stdio: binary log driver ${uri} names no program`);
    const opened: number[] = [];
    const pipe = () => {
      const ends = makePipe();
      opened.push(...ends);
      return ends;
    };
    try {
      const [stdoutRead, stdoutWrite] = pipe();
      const [stderrRead, stderrWrite] = pipe();
      const [readyRead, readyWrite] = pipe();
      if (owner.uid !== 0 || owner.gid !== 0) for (const fd of [stdoutWrite, stderrWrite]) fchownSync(fd, owner.uid, owner.gid);
      const child = spawn(path, driverArgs(url), {
        stdio: ["ignore", "ignore", "ignore", stdoutRead, stderrRead, readyWrite],
        env: { CONTAINER_ID: context.containerId, CONTAINER_NAMESPACE: context.namespace },
      });
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", (error) => reject(new BerthError("Unknown", `failed to start binary logger ${path}: ${error.message}`)));
      });
      const pid = child.pid!;
      context.tracker.spawned(pid);
      const finished = new Promise<void>((resolve) => child.once("exit", () => resolve())).finally(() => context.tracker.finished(pid));
      // Only the driver keeps the read ends and the ready pipe's writer.
      for (const fd of [stdoutRead, stderrRead, readyWrite]) {
        closeFd(fd);
        opened.splice(opened.indexOf(fd), 1);
      }
      opened.splice(opened.indexOf(readyRead), 1);
      await waitUntilReady(readyRead);
      return new LogDriver(stdoutWrite, stderrWrite, finished, () => child.kill("SIGKILL"));
    } catch (error) {
      for (const fd of opened) closeFd(fd);
      throw error;
    }
  }

  /** Once the process's ends are closed the driver sees EOF and ends; one that lingers is killed. */
  stopLater(): void {
    const timer = setTimeout(() => this.#kill(), finishGraceMs);
    timer.unref();
    void this.finished.then(() => clearTimeout(timer));
  }
}

/** Reads the ready pipe until the driver writes to it or closes it (or exits). */
function waitUntilReady(fd: number): Promise<void> {
  const ready = new Socket({ fd, readable: true, writable: false });
  return new Promise<void>((resolve) => {
    const done = () => {
      ready.destroy();
      resolve();
    };
    ready.once("data", done);
    ready.once("end", done);
    ready.once("error", done);
    ready.once("close", done);
  });
}
