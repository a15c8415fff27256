/** gRPC metadata key naming the namespace of a call; the first value wins. */
export const namespaceHeader = "containerd-namespace";
/** The same, carried in ttrpc request metadata (shim APIs, events Forward). */
export const namespaceTtrpcHeader = "containerd-namespace-ttrpc";
/** gRPC metadata key naming the lease that protects what a call creates. */
export const leaseHeader = "containerd-lease";
/** The namespace clients use when none is given, as ctr does. */
export const defaultNamespace = "default";
