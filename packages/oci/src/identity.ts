import { createHash } from "node:crypto";

/**
 * containerd's identity.ChainIDs: the chain ID of each layer of a stack, from the layers' diff IDs
 * (the digests of their uncompressed tars). The first is the first diff ID; each next one is
 * `sha256(<parent chain ID> + " " + <diff ID>)`. A committed snapshot of an unpacked image is named by it.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const chain: string[] = [];
  for (const diffId of diffIds) {
    const parent = chain.at(-1);
    chain.push(parent === undefined ? diffId : `sha256:${createHash("sha256").update(`${parent} ${diffId}`).digest("hex")}`);
  }
  return chain;
}

/** containerd's identity.ChainID: the chain ID of the top layer; "" for no layers. */
export const chainId = (diffIds: readonly string[]): string => chainIds(diffIds).at(-1) ?? "";
