import { invalidArgument } from "./errors.js";

const maxLabelSize = 4096;

/** Each label's key plus value may hold at most 4096 bytes, and keys may not be empty (containerd's rule). */
export function validateLabels(labels: Readonly<Record<string, string>>, owner = "labels"): void {
  for (const [key, value] of Object.entries(labels)) {
    if (key.length === 0) throw invalidArgument(`${owner}: label key must not be empty`);
    const size = Buffer.byteLength(key) + Buffer.byteLength(value);
    if (size > maxLabelSize) {
      throw invalidArgument(`${owner}: label key and value length (${size} bytes) greater than maximum size (${maxLabelSize} bytes), key: ${key.slice(0, 64)}`);
    }
  }
}
