import { invalidArgument } from "@berth/api";

/** A reference split the way containerd's `reference.Parse` does it (what ctr accepts). */
export interface ParsedReference {
  /** The string as given; image records are named by it. */
  readonly name: string;
  /** Host and path, e.g. `docker.io/library/alpine`. */
  readonly locator: string;
  /** Tag, `@digest` or `tag@digest`; "" when absent. */
  readonly object: string;
  /** Registry host (with port), e.g. `127.0.0.1:5000`. */
  readonly hostname: string;
  /** Repository path within the registry, e.g. `library/alpine`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const digestPattern = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** ctr's parser: host required, no normalization; the object is everything after the first `:` or `@` of the path. */
export function parseReference(ref: string): ParsedReference {
  if (ref.includes("://")) throw invalidArgument(`reference ${JSON.stringify(ref)}: invalid reference`);
  const slash = ref.indexOf("/");
  const host = slash === -1 ? ref : ref.slice(0, slash);
  let path = slash === -1 ? "" : ref.slice(slash);
  if (host === "" || host.startsWith(":")) throw invalidArgument(`reference ${JSON.stringify(ref)}: hostname required`);
  // Go's url.Parse only accepts a numeric port after the host.
  const colon = host.lastIndexOf(":");
  if (colon !== -1 && !host.includes("]") && !/^\d*$/.test(host.slice(colon + 1))) {
    throw invalidArgument(`reference ${JSON.stringify(ref)}: invalid port ${JSON.stringify(host.slice(colon))} after host`);
  }
  if (/[\s#?]/.test(ref)) throw invalidArgument(`reference ${JSON.stringify(ref)}: invalid reference`);
  let object = "";
  const split = path.search(/[:@]/);
  if (split !== -1) {
    object = path.slice(split);
    if (object.startsWith(":")) object = object.slice(1);
    path = path.slice(0, split);
  }
  const repository = path
    .split("/")
    .filter((part) => part !== "")
    .join("/");
  const locator = repository === "" ? host : `${host}/${repository}`;
  // Like SplitObject: a suffix after the last `@` is a digest only when it parses as one.
  let tag: string | undefined = object === "" ? undefined : object;
  let digest: string | undefined;
  const at = object.lastIndexOf("@");
  if (at !== -1 && digestPattern.test(object.slice(at + 1))) {
    digest = object.slice(at + 1);
    tag = at === 0 ? undefined : object.slice(0, at);
  }
  return { name: ref, locator, object, hostname: host, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domain = `${domainComponent}(?:\\.${domainComponent})*(?::[0-9]+)?`;
const pathComponent = "[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*";
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const referencePattern = new RegExp(`^(${name})(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`);
const maxNameLength = 255;

/**
 * Docker normalization (reference/docker.ParseDockerRef, used by CRI and nerdctl): `alpine` →
 * `docker.io/library/alpine:latest`; a digest wins over a tag.
 */
export function normalizeReference(ref: string): string {
  const fail = (why: string) => invalidArgument(`reference ${JSON.stringify(ref)}: invalid reference format${why}`);
  if (/^[a-f0-9]{64}$/.test(ref)) throw fail(": cannot specify 64-byte hexadecimal strings");
  const slash = ref.indexOf("/");
  let host = "docker.io";
  let remainder = ref;
  if (slash !== -1) {
    const first = ref.slice(0, slash);
    if (/[.:]/.test(first) || first === "localhost") {
      host = first === "index.docker.io" ? "docker.io" : first;
      remainder = ref.slice(slash + 1);
    }
  }
  if (host === "docker.io" && !remainder.includes("/")) remainder = `library/${remainder}`;
  const nameEnd = remainder.search(/[:@]/);
  const repository = nameEnd === -1 ? remainder : remainder.slice(0, nameEnd);
  if (repository.toLowerCase() !== repository) throw fail(": repository name must be lowercase");
  const match = referencePattern.exec(`${host}/${remainder}`);
  if (match === null) throw fail("");
  const [, fullName = "", tag, digest] = match;
  if (fullName.length > maxNameLength) throw fail(`: repository name must not be more than ${maxNameLength} characters`);
  if (digest !== undefined) {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw invalidArgument(`reference ${JSON.stringify(ref)}: invalid digest ${JSON.stringify(digest)}`);
    return `${fullName}@${digest}`;
  }
  return `${fullName}:${tag ?? "latest"}`;
}
