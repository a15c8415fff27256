import { rm } from "node:fs/promises";
import type { CallContext } from "@berth/api";
import type { AttachedIO, Client, ExitStatus, ProcessIO } from "@berth/client";
import type { Console } from "./console.js";
import { forwardedSignals, parseSignal } from "./signals.js";

/** Where a new process's stdio goes, as ctr's flags say. */
export interface IoOptions {
  readonly fifoDir: string;
  readonly nullIo: boolean;
  readonly terminal: boolean;
  readonly logUri?: string | undefined;
}

/**
 * A new process's stdio: the paths for Create/Exec and the client's ends, copying to ctr's own
 * stdout and stderr. Attached even when detaching: the shim opens the output FIFOs for writing,
 * which waits for a reader.
 */
export interface NewProcessIo {
  readonly paths: ProcessIO;
  readonly attached: AttachedIO | undefined;
  /** Closes the client's ends and removes the FIFOs. */
  release(): Promise<void>;
}

export async function newProcessIo(id: string, options: IoOptions): Promise<NewProcessIo> {
  if (options.nullIo) {
    if (options.terminal) throw new Error("tty and null-io cannot be used together");
    return { paths: { stdin: "", stdout: "", stderr: "", terminal: false }, attached: undefined, release: async () => undefined };
  }
  if (options.logUri && !options.terminal) {
    // Both streams go to the URI, which the shim opens (a file, or a logging binary it starts).
    const uri = new URL(options.logUri).href;
    return { paths: { stdin: "", stdout: uri, stderr: uri, terminal: false }, attached: undefined, release: async () => undefined };
  }
  const { AttachedIO, newFifoSet } = await import("@berth/client");
  const fifos = await newFifoSet(options.fifoDir, id, options.terminal);
  let attached: AttachedIO | undefined;
  try {
    attached = AttachedIO.attach(fifos, { stdout: process.stdout, stderr: options.terminal ? undefined : process.stderr });
  } catch (error) {
    await rm(fifos.directory, { recursive: true, force: true });
    throw error;
  }
  const paths = { stdin: fifos.stdin, stdout: fifos.stdout, stderr: fifos.stderr, terminal: fifos.terminal };
  return {
    paths,
    attached,
    release: async () => {
      attached?.close();
      await rm(fifos.directory, { recursive: true, force: true });
    },
  };
}

/** Copies ctr's stdin into the process; at its end the process's stdin is closed (Tasks.CloseIO). */
export function forwardStdin(client: Client, context: CallContext, io: AttachedIO | undefined, containerId: string, execId = ""): void {
  io?.copyStdin(process.stdin, () => client.tasks.closeIO(context, containerId, execId));
}

/**
 * Waits for the process to exit while passing on ctr's signals to it (or, with a terminal, its
 * size), then lets its output drain: resolves to how it ended.
 */
export async function followProcess(
  client: Client,
  context: CallContext,
  target: { containerId: string; execId?: string },
  exit: Promise<ExitStatus>,
  io: AttachedIO | undefined,
  terminal: Console | undefined,
): Promise<ExitStatus> {
  const execId = target.execId ?? "";
  let stop: () => void;
  if (terminal !== undefined) {
    stop = terminal.watchSize((size) => void client.tasks.resizePty(context, target.containerId, size, execId).catch(() => undefined));
  } else {
    const forward = (signal: NodeJS.Signals) => void client.tasks.kill(context, target.containerId, parseSignal(signal), { execId }).catch(() => undefined);
    for (const signal of forwardedSignals) process.on(signal, forward);
    stop = () => forwardedSignals.forEach((signal) => process.off(signal, forward));
  }
  try {
    const status = await exit;
    // The shim closes the FIFOs once the process's pipes are drained; a child that kept them open
    // must not hold ctr forever.
    await io?.wait(2000);
    return status;
  } finally {
    stop();
  }
}

/** Lets ctr exit once the process is done with: its stdin is no longer read. */
export function releaseStdin(): void {
  process.stdin.pause();
  process.stdin.removeAllListeners("data");
  if (!process.stdin.isTTY) process.stdin.destroy();
}
