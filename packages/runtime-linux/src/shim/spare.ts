import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { type ShimFlags, parseFlags } from "./flags.js";
import { type Handover, handoverFd } from "./handover.js";
import { duplicateFd, setParentDeathSignal } from "./libc.js";

const SIGKILL = 9;

/**
 * A spare server's wait (the daemon keeps one started, see spare-pool): its code is loaded by now;
 * it reads its handover on descriptor 3 and becomes the server those flags describe, or returns
 * undefined when the daemon closed its end (it exited, died, or gave up on this spare) and
 * nothing should run on. Until handed over it dies with the daemon, however the daemon goes.
 */
export async function awaitHandover(): Promise<ShimFlags | undefined> {
  setParentDeathSignal(SIGKILL);
  // Node loads perf_hooks on the first use of `performance` (the events' timestamps): some 3 ms of
  // the first task, paid here instead.
  performance.now();
  // A second descriptor for Node's stream, so that descriptor 3 stays this process's to say "ready" on (see serve).
  const line = await readLine(new Socket({ fd: duplicateFd(handoverFd), readable: true, writable: false }));
  if (line === undefined) return undefined;
  const handover = JSON.parse(line) as Handover;
  // A server outlives the daemon.
  setParentDeathSignal(0);
  process.chdir(handover.cwd);
  showCommandLine(handover.args);
  return parseFlags(handover.args);
}

function readLine(stream: Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = "";
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const end = text.indexOf("\n");
      if (end < 0) return;
      stream.removeAllListeners();
      stream.destroy();
      resolve(text.slice(0, end));
    });
    stream.once("error", () => stream.destroy());
    stream.once("close", () => resolve(undefined));
  });
}

/**
 * Writes the server's arguments over the spare's in this process's command line (the
 * `/proc/self/cmdline` that `ps` and the tests read), in the room the spare was started with;
 * left as it is when they do not fit. Node keeps its own copy of argv, so nothing else changes.
 */
function showCommandLine(args: readonly string[]): void {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // Fields 48 and 49 of proc(5), counted after "pid (comm)": where the arguments lie in memory.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(fields[45]);
    const room = Number(fields[46]) - start;
    const current = readFileSync("/proc/self/cmdline", "utf8").split("\0");
    const program = current.slice(0, current.indexOf("-address"));
    const line = Buffer.from(`${[...program, ...args].join("\0")}\0`);
    if (!Number.isSafeInteger(start) || line.byteLength > room) return;
    const memory = openSync("/proc/self/mem", "r+");
    try {
      writeSync(memory, Buffer.concat([line, Buffer.alloc(room - line.byteLength)]), 0, room, start);
    } finally {
      closeSync(memory);
    }
  } catch {
    // Cosmetic: the server serves all the same.
  }
}
