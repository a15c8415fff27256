import type { Descriptor } from "@berth/oci";

/**
 * Where one descriptor of a transfer stands, in containerd's words: `waiting` (known, not
 * started), `downloading`/`uploading` (bytes moving), `done` (this transfer moved it), `exists`
 * (already there: nothing moved) or `mounted` (pushed by cross-repository mount).
 */
export type TransferStatus = "waiting" | "downloading" | "uploading" | "done" | "exists" | "mounted";

/** One descriptor's progress, reported on every change. */
export interface DescriptorProgress {
  /** containerd's ref key (`layer-sha256:…`): the ingest ref and the progress line's label. */
  readonly ref: string;
  readonly descriptor: Descriptor;
  readonly status: TransferStatus;
  /** Bytes of the blob in place so far, including those an interrupted earlier transfer left. */
  readonly offset: number;
  readonly total: number;
  /** Bytes this transfer itself moved (for throughput). */
  readonly moved: number;
  /** On `waiting`: the index or manifest that named this descriptor (none for the root). */
  readonly parent?: Descriptor;
}

export type ProgressListener = (progress: DescriptorProgress) => void;

/** What a progress display shows at one moment: the reference, then each descriptor in first-seen order. */
export interface ProgressSnapshot {
  readonly name: string;
  readonly resolved: boolean;
  readonly entries: readonly DescriptorProgress[];
  /** Bytes moved by this transfer so far. */
  readonly moved: number;
}

/**
 * Collects a transfer's progress events for a display that redraws on a timer (as ctr's
 * showProgress does every 100 ms): `listener` goes into the pull or push options.
 */
export class ProgressBoard {
  readonly #entries = new Map<string, DescriptorProgress>();
  #resolved = false;

  constructor(readonly name: string) {}

  readonly listener: ProgressListener = (progress) => {
    this.#resolved = true;
    const known = this.#entries.get(progress.ref);
    // A late "waiting" never hides progress already reported.
    if (known !== undefined && progress.status === "waiting" && known.status !== "waiting") return;
    this.#entries.set(progress.ref, progress);
  };

  markResolved(): void {
    this.#resolved = true;
  }

  snapshot(): ProgressSnapshot {
    const entries = [...this.#entries.values()];
    return { name: this.name, resolved: this.#resolved, entries, moved: entries.reduce((sum, e) => sum + e.moved, 0) };
  }
}
