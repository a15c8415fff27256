import { join } from "node:path";
import { hexOf, sha256Hex } from "./digest.js";

/** Where everything lives under a store's root; containerd's content/local layout plus a labels dir. */
export class Layout {
  readonly blobsDir: string;
  readonly ingestRoot: string;
  readonly labelsDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, "blobs", "sha256");
    this.ingestRoot = join(root, "ingest");
    this.labelsDir = join(root, "labels", "sha256");
  }

  /** For a validated digest. */
  blobPath(digest: string): string {
    return join(this.blobsDir, hexOf(digest));
  }

  labelsPath(digest: string): string {
    return join(this.labelsDir, `${hexOf(digest)}.json`);
  }

  /** Refs are arbitrary strings, so the directory is named by their hash. */
  ingestDir(ref: string): string {
    return join(this.ingestRoot, sha256Hex(ref));
  }
}

export const ingestFiles = {
  data: "data",
  ref: "ref",
  startedAt: "startedat",
  updatedAt: "updatedat",
  total: "total",
  expected: "expected",
  lock: "lock",
} as const;

const hexName = /^[0-9a-f]{64}$/;

/** Entries of blobs/sha256 and ingest/ that are ours; temp and half-removed names never match. */
export function isHexName(name: string): boolean {
  return hexName.test(name);
}
