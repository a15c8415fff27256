import { errorOfKind, invalidArgument, notFound } from "@berth/api";
import { type Descriptor, mediaTypes } from "@berth/oci";
import { Authorizer, type Credentials, type CredentialsSource, dockerConfigCredentials } from "./auth.js";
import { type Capability, configureHosts, type HostOptions, type RegistryHost } from "./hosts.js";
import { isManifestType, manifestAccept, maxManifestSize } from "./media-types.js";
import { type ParsedReference, parseReference } from "./reference.js";
import { header, type RegistryResponse, type RetryOptions, statusError, Transport } from "./transport.js";
import { digestMismatch, hasherFor, sha256Digest, sized, verified } from "./verify.js";

export interface ResolverOptions extends HostOptions {
  /** Fixed credentials for every host, or a lookup by registry host. */
  readonly credentials?: Credentials | CredentialsSource;
  /** Path of a docker config.json to read credentials from (used when `credentials` gives none). */
  readonly dockerConfig?: string;
  /** Replaces hosts.toml/default endpoint selection. */
  readonly hosts?: (refHost: string) => RegistryHost[];
  readonly userAgent?: string;
  readonly retry?: RetryOptions;
  /** Headers sent to every host (containerd's ResolverOptions.Headers); a host's own `header` entries win. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts every registry request of this resolver, and the reading of every body, once fired. */
  readonly signal?: AbortSignal;
}

export interface Resolved {
  readonly name: string;
  readonly descriptor: Descriptor;
}

export interface FetchOptions {
  /**
   * Resume from this byte. With `prefix` (the bytes before it) the whole blob is verified here;
   * with `verifiedByConsumer` only the length is.
   */
  readonly offset?: number;
  readonly prefix?: Uint8Array | AsyncIterable<Uint8Array>;
  /**
   * Check only the length, not the digest (from any offset, without `prefix`): the consumer checks
   * the digest of the whole blob itself, as a content store does at commit, and the bytes are not
   * hashed twice.
   */
  readonly verifiedByConsumer?: boolean;
}

export interface PushOptions {
  /** Repository (on the same registry) to cross-mount the blob from. */
  readonly mountFrom?: string;
  /** Push a manifest by digest even when the reference has a tag (children of an index). */
  readonly byDigest?: boolean;
}

export type PushResult = "exists" | "mounted" | "pushed";

export interface Fetcher {
  fetch(descriptor: Descriptor, options?: FetchOptions): AsyncIterable<Uint8Array>;
}

export interface Pusher {
  push(descriptor: Descriptor, content: Uint8Array | AsyncIterable<Uint8Array>, options?: PushOptions): Promise<PushResult>;
}

async function readCapped(response: RegistryResponse, limit: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > limit) {
      response.body.destroy();
      throw errorOfKind("FailedPrecondition", `${what}: larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function collect(content: Uint8Array | AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array> {
  if (content instanceof Uint8Array) return content;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of content) {
    total += chunk.byteLength;
    if (total > limit) throw invalidArgument(`manifest larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function* skip(source: AsyncIterable<Uint8Array>, count: number): AsyncGenerator<Uint8Array> {
  let left = count;
  for await (const chunk of source) {
    if (left >= chunk.byteLength) {
      left -= chunk.byteLength;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}

/** containerd's docker resolver: resolve by tag or digest, fetch verified content, push content. */
export class Resolver {
  readonly #transport: Transport;
  readonly #options: ResolverOptions;

  constructor(options: ResolverOptions = {}) {
    this.#options = options;
    const given = options.credentials;
    const fromConfig = options.dockerConfig !== undefined ? dockerConfigCredentials(options.dockerConfig) : () => undefined;
    const lookup: CredentialsSource =
      given === undefined
        ? fromConfig
        : typeof given === "function"
          ? async (host, challenges) => (await given(host, challenges)) ?? fromConfig(host)
          : () => given;
    let transport: Transport | undefined;
    const authorizer = new Authorizer(lookup, async (req) => {
      const response = await transport!.send({
        method: req.method,
        host: { host: new URL(req.url).host, scheme: req.url.startsWith("http:") ? "http" : "https", path: "", capabilities: [] },
        refHost: new URL(req.url).host,
        path: req.url,
        headers: req.headers,
        ...(req.body !== undefined ? { body: Buffer.from(req.body) } : {}),
        scopes: [],
        noAuth: true,
      });
      const text = await response.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, json };
    });
    transport = new Transport(authorizer, options.userAgent, options.retry, options.signal);
    this.#transport = transport;
  }

  #hosts(parsed: ParsedReference, capability: Capability): RegistryHost[] {
    const all = this.#options.hosts?.(parsed.hostname) ?? configureHosts(parsed.hostname, this.#options);
    const extra = Object.entries(this.#options.headers ?? {}).map(([key, value]) => [key, [value]] as const);
    const hosts = all
      .filter((host) => host.capabilities.includes(capability))
      .map((host) => (extra.length === 0 ? host : { ...host, headers: { ...Object.fromEntries(extra), ...host.headers } }));
    if (hosts.length === 0) throw notFound(`no registry host with ${capability} capability for ${parsed.hostname}`);
    return hosts;
  }

  /** Maps a reference to its root descriptor (index or manifest), trying resolve-capable hosts in order. */
  async resolve(ref: string): Promise<Resolved> {
    const parsed = parseReference(ref);
    if (parsed.object === "") throw invalidArgument(`reference ${JSON.stringify(ref)}: object required`);
    if (parsed.repository === "") throw invalidArgument(`reference ${JSON.stringify(ref)}: repository required`);
    const paths = parsed.digest !== undefined ? [`manifests/${parsed.digest}`, `blobs/${parsed.digest}`] : [`manifests/${parsed.tag ?? parsed.object}`];
    const scopes = [`repository:${parsed.repository}:pull`];
    let lastError: Error | undefined;
    for (const host of this.#hosts(parsed, "resolve")) {
      for (const path of paths) {
        const what = `${ref}: ${host.host}`;
        let method: "HEAD" | "GET" = "HEAD";
        const send = () =>
          this.#transport.send({ method, host, refHost: parsed.hostname, path: `/${parsed.repository}/${path}`, headers: { accept: manifestAccept }, scopes });
        let response: RegistryResponse;
        try {
          response = await send();
        } catch (error) {
          // An unreachable endpoint (a mirror) is skipped for the next one.
          lastError = error as Error;
          continue;
        }
        if (response.status === 405) {
          // Some registries refuse HEAD on manifests.
          await response.body.dump();
          method = "GET";
          response = await send();
        }
        if (response.status === 404) {
          await response.body.dump();
          continue;
        }
        if (response.status > 299) {
          lastError = await statusError(response, what);
          continue;
        }
        let mediaType = (header(response, "content-type") ?? "").split(";")[0]!.trim();
        if (mediaType === "text/plain" && path.startsWith("manifests/")) mediaType = mediaTypes.dockerSchema1Manifest;
        if (mediaType === "") mediaType = "application/octet-stream";
        let digest = parsed.digest ?? header(response, "docker-content-digest");
        const lengthHeader = header(response, "content-length");
        let size = lengthHeader === undefined ? Number.NaN : Number(lengthHeader);
        if (method === "HEAD") await response.body.dump();
        if (digest === undefined || !Number.isSafeInteger(size)) {
          // Headers missing: hash the manifest itself.
          if (method === "HEAD") {
            response = await this.#transport.send({
              method: "GET",
              host,
              refHost: parsed.hostname,
              path: `/${parsed.repository}/${path}`,
              headers: { accept: manifestAccept },
              scopes,
            });
            if (response.status > 299) {
              lastError = await statusError(response, what);
              continue;
            }
          }
          const body = await readCapped(response, maxManifestSize, what);
          const actual = sha256Digest(body);
          if (digest !== undefined && actual !== digest) {
            lastError = digestMismatch(what, digest, actual);
            continue;
          }
          digest = actual;
          size = body.byteLength;
        } else if (method === "GET") {
          await response.body.dump();
        }
        if (path.startsWith("manifests/") && size > maxManifestSize) {
          lastError = errorOfKind("FailedPrecondition", `${what}: manifest of ${size} bytes exceeds ${maxManifestSize}`);
          continue;
        }
        return { name: ref, descriptor: { mediaType, digest, size } };
      }
    }
    throw lastError ?? notFound(`${ref}: not found`);
  }

  /** A fetcher for the repository of `ref`; everything it yields is checked against the descriptor. */
  fetcher(ref: string): Fetcher {
    const parsed = parseReference(ref);
    return { fetch: (descriptor, options) => this.#fetch(parsed, descriptor, options ?? {}) };
  }

  async *#fetch(parsed: ParsedReference, descriptor: Descriptor, options: FetchOptions): AsyncGenerator<Uint8Array> {
    const hash = hasherFor(descriptor);
    const offset = options.offset ?? 0;
    const what = `${parsed.locator}@${descriptor.digest}`;
    if (offset < 0 || offset > descriptor.size) throw invalidArgument(`${what}: offset ${offset} outside 0..${descriptor.size}`);
    const trusting = options.prefix === undefined && options.verifiedByConsumer === true;
    if (offset > 0 && !trusting) {
      if (options.prefix === undefined) throw invalidArgument(`${what}: resuming at ${offset} needs the prefix bytes to verify the digest`);
      let length = 0;
      for await (const chunk of options.prefix instanceof Uint8Array ? [options.prefix] : options.prefix) {
        hash.update(chunk);
        length += chunk.byteLength;
      }
      if (length !== offset) throw invalidArgument(`${what}: prefix has ${length} bytes, offset is ${offset}`);
    }
    const manifest = isManifestType(descriptor.mediaType);
    if (manifest && descriptor.size > maxManifestSize)
      throw errorOfKind("FailedPrecondition", `${what}: manifest of ${descriptor.size} bytes exceeds ${maxManifestSize}`);
    if (offset === descriptor.size) {
      if (!trusting) yield* verified([], descriptor, hash, offset, what);
      return;
    }
    const scopes = [`repository:${parsed.repository}:pull`];
    let lastError: Error | undefined;
    for (const host of this.#hosts(parsed, "pull")) {
      const headers: Record<string, string> = { accept: `${descriptor.mediaType}, */*` };
      if (offset > 0) headers["range"] = `bytes=${offset}-`;
      const path = `/${parsed.repository}/${manifest ? "manifests" : "blobs"}/${descriptor.digest}`;
      let response: RegistryResponse;
      try {
        response = await this.#transport.send({ method: "GET", host, refHost: parsed.hostname, path, headers, scopes });
      } catch (error) {
        lastError = error as Error;
        continue;
      }
      if (response.status === 404) {
        await response.body.dump();
        lastError = notFound(`${what}: not found`);
        continue;
      }
      if (response.status > 299) {
        lastError = await statusError(response, `${what} from ${host.host}`);
        continue;
      }
      let body: AsyncIterable<Uint8Array> = response.body as AsyncIterable<Uint8Array>;
      if (offset > 0) {
        const range = header(response, "content-range");
        if (range !== undefined && !range.startsWith(`bytes ${offset}-`)) {
          response.body.destroy();
          throw errorOfKind("Unknown", `${what}: unhandled content range in response: ${range}`);
        }
        // A server that ignores Range sends everything: drop what the caller already has.
        if (range === undefined) body = skip(body, offset);
      }
      yield* trusting ? sized(body, descriptor, offset, what) : verified(body, descriptor, hash, offset, what);
      return;
    }
    throw lastError ?? notFound(`${what}: not found`);
  }

  /** A pusher to the repository of `ref`, on the first push-capable host. */
  pusher(ref: string): Pusher {
    const parsed = parseReference(ref);
    if (parsed.repository === "") throw invalidArgument(`reference ${JSON.stringify(ref)}: repository required`);
    return { push: (descriptor, content, options) => this.#push(parsed, descriptor, content, options ?? {}) };
  }

  async #push(parsed: ParsedReference, descriptor: Descriptor, content: Uint8Array | AsyncIterable<Uint8Array>, options: PushOptions): Promise<PushResult> {
    const hash = hasherFor(descriptor);
    const host = this.#hosts(parsed, "push")[0]!;
    const refHost = parsed.hostname;
    const what = `${parsed.locator}@${descriptor.digest}`;
    const manifest = isManifestType(descriptor.mediaType);
    const scopes = [`repository:${parsed.repository}:pull,push`];
    if (options.mountFrom !== undefined) scopes.push(`repository:${options.mountFrom}:pull`);
    const object = manifest && !options.byDigest && parsed.digest === undefined && parsed.tag !== undefined ? parsed.tag : descriptor.digest;
    const existsPath = `/${parsed.repository}/${manifest ? "manifests" : "blobs"}/${object}`;
    const head = await this.#transport.send({ method: "HEAD", host, refHost, path: existsPath, headers: manifest ? { accept: manifestAccept } : {}, scopes });
    await head.body.dump();
    // A tag only counts as present when it already points at this manifest.
    if (head.status === 200 && (object === descriptor.digest || header(head, "docker-content-digest") === descriptor.digest)) return "exists";
    if (head.status !== 200 && head.status !== 404) throw await statusError(head, `${what}: checking existence`);

    if (manifest) {
      const bytes = await collect(content, maxManifestSize);
      const actual = sha256Digest(bytes);
      if (actual !== descriptor.digest || bytes.byteLength !== descriptor.size) throw digestMismatch(`${what}: content to push`, descriptor.digest, actual);
      const put = await this.#transport.send({
        method: "PUT",
        host,
        refHost,
        path: `/${parsed.repository}/manifests/${object}`,
        headers: { "content-type": descriptor.mediaType },
        body: bytes,
        scopes,
      });
      if (put.status !== 201 && put.status !== 200 && put.status !== 204) throw await statusError(put, `${what}: pushing manifest`);
      await put.body.dump();
      return "pushed";
    }

    const query: Record<string, string> = options.mountFrom !== undefined ? { mount: descriptor.digest, from: options.mountFrom } : {};
    const start = await this.#transport.send({
      method: "POST",
      host,
      refHost,
      path: `/${parsed.repository}/blobs/uploads/`,
      query,
      headers: { "content-length": "0" },
      scopes,
    });
    if (start.status === 201) {
      await start.body.dump();
      return "mounted";
    }
    if (start.status !== 202) throw await statusError(start, `${what}: starting upload`);
    await start.body.dump();
    const location = header(start, "location");
    if (location === undefined) throw errorOfKind("Unknown", `${what}: upload started without a Location`);
    const uploadUrl = new URL(location, this.#transport.url({ host, refHost, path: `/${parsed.repository}/blobs/uploads/` }));
    uploadUrl.searchParams.delete("ns");
    uploadUrl.searchParams.set("digest", descriptor.digest);
    let sent = 0;
    const hashing = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of content instanceof Uint8Array ? [content] : content) {
        sent += chunk.byteLength;
        hash.update(chunk);
        yield chunk;
      }
    };
    const put = await this.#transport.send({
      method: "PUT",
      host,
      refHost,
      path: uploadUrl.toString(),
      headers: { "content-type": "application/octet-stream", "content-length": String(descriptor.size) },
      body: hashing(),
      scopes,
    });
    const actual = `sha256:${hash.digest("hex")}`;
    if (sent !== descriptor.size || actual !== descriptor.digest) {
      await put.body.dump();
      throw digestMismatch(`${what}: content to push`, descriptor.digest, actual);
    }
    if (put.status !== 201 && put.status !== 200 && put.status !== 204) throw await statusError(put, `${what}: uploading blob`);
    await put.body.dump();
    return "pushed";
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.#transport.close();
  }
}
