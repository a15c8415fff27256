import type { DescriptorProgress, ProgressSnapshot } from "@berth/client";
import { tabwriter } from "./tabwriter.js";
import { progressBytes } from "./units.js";

const green = "\x1b[32m";
const reset = "\x1b[0m";

/** containerd's progress.Bar at width 40: `|+++---|`, the pluses green on a terminal. */
export function progressBar(fraction: number, color: boolean, width = 40): string {
  const inner = width - 2;
  const done = Math.floor(inner * Math.min(1, Math.max(0, fraction)));
  return `|${color ? green : ""}${"+".repeat(done)}${color ? reset : ""}${"-".repeat(inner - done)}|`;
}

/** Go's `%W.Ps` of a string: cut to P characters, right-aligned in W. */
const goString = (text: string, width: number, precision: number) => text.slice(0, precision).padStart(width);

export interface RenderOptions {
  /** Color the bars (on a terminal, as ctr does). */
  readonly color?: boolean;
  /** Words shown for each status; ctr's push says "done" for blobs that existed or were mounted. */
  readonly words?: Partial<Record<DescriptorProgress["status"], string>>;
  /** Start with the reference's resolving/resolved line (pull does, push does not). */
  readonly header?: boolean;
}

/**
 * One frame of ctr's progress display (content.Display): the reference, a line per descriptor
 * with its status, bar and bytes, then elapsed time, bytes moved and throughput, laid out by
 * tabwriter as ctr does.
 */
export function renderProgress(snapshot: ProgressSnapshot, elapsedMs: number, options: RenderOptions = {}): string {
  const color = options.color ?? false;
  const lines =
    options.header === false ? [] : [`${snapshot.name}:\t${snapshot.resolved ? "resolved" : "resolving"}\t${progressBar(snapshot.resolved ? 1 : 0, color)}\t`];
  for (const entry of snapshot.entries) {
    const word = options.words?.[entry.status] ?? entry.status;
    if (entry.status === "downloading" || entry.status === "uploading") {
      const fraction = entry.total > 0 ? entry.offset / entry.total : 0;
      lines.push(`${entry.ref}:\t${word}\t${progressBar(fraction, color)}\t${goString(progressBytes(entry.offset), 8, 8)}/${progressBytes(entry.total)}\t`);
    } else {
      lines.push(`${entry.ref}:\t${word}\t${progressBar(entry.status === "waiting" ? 0 : 1, color)}\t`);
    }
  }
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? snapshot.moved / seconds : 0;
  lines.push(`elapsed: ${seconds.toFixed(1).padEnd(4)}s\ttotal: ${goString(progressBytes(snapshot.moved), 7, 6)}\t(${progressBytes(rate)}/s)\t`);
  return tabwriter(lines);
}

/**
 * Redraws the progress display every 100 ms on a terminal (moving the cursor up over the last
 * frame, as containerd's progress.Writer does); elsewhere prints only the final frame, so that
 * logs and pipes get the summary and no escape codes.
 */
export class ProgressPrinter {
  readonly #started = performance.now();
  readonly #tty: boolean;
  #timer: NodeJS.Timeout | undefined;
  #lines = 0;

  constructor(
    private readonly snapshot: () => ProgressSnapshot,
    private readonly output: NodeJS.WriteStream = process.stdout,
    private readonly options: Omit<RenderOptions, "color"> = {},
  ) {
    this.#tty = output.isTTY === true;
    if (this.#tty) this.#timer = setInterval(() => this.#draw(), 100);
  }

  #draw(): void {
    const frame = renderProgress(this.snapshot(), performance.now() - this.#started, { ...this.options, color: this.#tty });
    const clear = this.#tty ? "\x1b[1A\x1b[2K\r".repeat(this.#lines) : "";
    this.#lines = frame.split("\n").length - 1;
    this.output.write(clear + frame);
  }

  /** Draws the last frame and stops. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw();
  }
}
