import type { CniResult } from "./network.js";

/**
 * The addresses (without prefix length) a result gives the interface named `ifName` inside the
 * container, as go-cni's createResult assigns them: an IP naming no interface counts for it too.
 */
export function interfaceAddresses(result: CniResult, ifName: string): string[] {
  const index = (result.interfaces ?? []).findIndex((candidate) => candidate.name === ifName && candidate.sandbox);
  return (result.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === index).map((ip) => ip.address.split("/")[0]!);
}
