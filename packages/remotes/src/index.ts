/**
 * @berth/remotes: the registry client of containerd 1.6's `remotes/docker`: reference parsing,
 * resolve, digest-verified fetch, push, Basic/Bearer auth and hosts.toml endpoint configuration.
 */
export type { ParsedReference } from "./reference.js";
export { normalizeReference, parseReference } from "./reference.js";
/** The image model, kept here for users of this package's earlier API; it lives in @berth/oci. */
export type { Descriptor } from "@berth/oci";
export { mediaTypes } from "@berth/oci";
export { isManifestType, manifestAccept, maxManifestSize } from "./media-types.js";
export type { Capability, HostOptions, RegistryHost } from "./hosts.js";
export { configureHosts, defaultHost, isLocalhost, parseHostsToml } from "./hosts.js";
export type { Challenge, Credentials, CredentialsSource } from "./auth.js";
export { dockerConfigCredentials, parseChallenges } from "./auth.js";
export type { RetryOptions } from "./transport.js";
export { defaultUserAgent } from "./transport.js";
export type { FetchOptions, Fetcher, PushOptions, PushResult, Pusher, Resolved, ResolverOptions } from "./resolver.js";
export { Resolver } from "./resolver.js";
