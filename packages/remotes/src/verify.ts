import { createHash, type Hash } from "node:crypto";
import { errorOfKind, invalidArgument } from "@berth/api";
import type { Descriptor } from "@berth/oci";

const digestPattern = /^sha256:[a-f0-9]{64}$/;

export function hasherFor(descriptor: Descriptor): Hash {
  if (!digestPattern.test(descriptor.digest))
    throw invalidArgument(`descriptor digest ${JSON.stringify(descriptor.digest)}: only sha256 digests are supported`);
  return createHash("sha256");
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export const digestMismatch = (what: string, want: string, got: string) => errorOfKind("DataLoss", `${what}: digest mismatch: expected ${want}, got ${got}`);

/**
 * Passes `source` through while hashing it, holding back the latest chunk until the next arrives:
 * the final bytes are released only after size and digest check out, so a consumer never sees a
 * complete but unverified blob. `hash` may already hold the bytes before `offset`.
 */
export async function* verified(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  descriptor: Descriptor,
  hash: Hash,
  offset: number,
  what: string,
): AsyncGenerator<Uint8Array> {
  let received = offset;
  let held: Uint8Array | undefined;
  for await (const chunk of source) {
    received += chunk.byteLength;
    if (received > descriptor.size) throw errorOfKind("DataLoss", `${what}: more than the expected ${descriptor.size} bytes`);
    hash.update(chunk);
    if (held !== undefined) yield held;
    held = chunk;
  }
  if (received !== descriptor.size) throw errorOfKind("DataLoss", `${what}: short read: expected ${descriptor.size} bytes, got ${received}`);
  const got = `sha256:${hash.digest("hex")}`;
  if (got !== descriptor.digest) throw digestMismatch(what, descriptor.digest, got);
  if (held !== undefined) yield held;
}

/** Passes `source` through, checking only that it ends exactly at the descriptor's size (for resumes the consumer verifies). */
export async function* sized(source: AsyncIterable<Uint8Array>, descriptor: Descriptor, offset: number, what: string): AsyncGenerator<Uint8Array> {
  let received = offset;
  for await (const chunk of source) {
    received += chunk.byteLength;
    if (received > descriptor.size) throw errorOfKind("DataLoss", `${what}: more than the expected ${descriptor.size} bytes`);
    yield chunk;
  }
  if (received !== descriptor.size) throw errorOfKind("DataLoss", `${what}: short read: expected ${descriptor.size} bytes, got ${received}`);
}
