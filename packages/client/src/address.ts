import { defaultNamespace } from "@berth/api";

/** Where berthd listens unless configured otherwise. */
export const defaultAddress = "/run/berth/berthd.sock";

/** The socket to dial: the flag, else CONTAINERD_ADDRESS, else berthd's default. */
export function resolveAddress(flag?: string): string {
  return flag || process.env.CONTAINERD_ADDRESS || defaultAddress;
}

/** The namespace to work in: the flag, else CONTAINERD_NAMESPACE, else "default". */
export function resolveNamespace(flag?: string): string {
  return flag || process.env.CONTAINERD_NAMESPACE || defaultNamespace;
}

/** grpc-js target for a socket path; `unix://` addresses pass through. */
export function grpcTarget(address: string): string {
  return address.startsWith("unix:") ? address : `unix://${address}`;
}
