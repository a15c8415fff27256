import type { Agent as HttpAgent, IncomingMessage } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { type BerthError, errorOfKind, notFound, unavailable } from "@berth/api";
import type { Authorizer } from "./auth.js";
import type { RegistryHost } from "./hosts.js";

export const defaultUserAgent = "containerd/1.6.20+berth";

export interface RetryOptions {
  /** Total attempts for retryable failures (429, 5xx, 408, connection errors). */
  readonly attempts?: number;
  /** First backoff; doubles per attempt, with jitter, capped at 5 s. */
  readonly baseDelayMs?: number;
}

export interface RegistryRequest {
  readonly method: "GET" | "HEAD" | "POST" | "PUT";
  readonly host: RegistryHost;
  /** The ref's registry (for credentials and the mirror `ns` parameter). */
  readonly refHost: string;
  /** Path below the API root (`/<repo>/manifests/<x>`), or an absolute URL (upload Locations). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** A Uint8Array can be re-sent on retry; a stream is sent once. */
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>;
  readonly scopes: readonly string[];
  /** Token requests carry their own credentials and must not recurse into the authorizer. */
  readonly noAuth?: boolean;
}

/** A response's body: read it (iterate or `text`), `dump` it to free the connection, or `destroy` it. */
export interface ResponseBody extends AsyncIterable<Uint8Array> {
  text(): Promise<string>;
  dump(): Promise<void>;
  destroy(error?: Error): void;
}

export interface RegistryResponse {
  readonly status: number;
  /** Lower-case names; a header sent more than once is an array. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: ResponseBody;
  readonly url: string;
}

export function header(response: RegistryResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A response's bytes as they come; `dump` reads the rest and drops it, so that the connection can be reused. */
class MessageBody implements ResponseBody {
  constructor(private readonly message: IncomingMessage) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.message[Symbol.asyncIterator]();
  }

  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.message) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  async dump(): Promise<void> {
    if (this.message.readableEnded || this.message.destroyed) return;
    this.message.resume();
    await finished(this.message).catch(() => undefined);
  }

  destroy(error?: Error): void {
    this.message.destroy(error);
  }
}

/** A header sent once as a string, one sent more than once as an array (as undici gave them). */
function headersOf(message: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(message.headersDistinct)) if (values !== undefined) headers[name] = values.length === 1 ? values[0]! : values;
  return headers;
}

interface HttpRequest {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly agent: HttpAgent | HttpsAgent;
  readonly signal?: AbortSignal;
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>;
}

// Node's own http, not undici (which takes ~70 ms and ~20 MB to load into a process that pulls once). Taken as
// CommonJS modules: an ES import of node:http builds its facade, whose lazy getters load Node's bundled undici.
const httpModules = { "http:": () => process.getBuiltinModule("node:http"), "https:": () => process.getBuiltinModule("node:https") };

/** One request; resolves with the response once its headers are in, its body still to read. */
function request(url: URL, options: HttpRequest): Promise<IncomingMessage> {
  const http = url.protocol === "https:" ? httpModules["https:"]() : httpModules["http:"]();
  const { body, signal } = options;
  return new Promise((resolve, reject) => {
    const outgoing = http.request(url, { method: options.method, headers: options.headers, agent: options.agent, ...(signal ? { signal } : {}) }, (message) => {
      // A cancelled call ends the reading of the body too.
      if (signal !== undefined) {
        const abort = () => message.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        signal.addEventListener("abort", abort, { once: true });
        message.once("close", () => signal.removeEventListener("abort", abort));
      }
      resolve(message);
    });
    outgoing.on("error", reject);
    if (body === undefined || body instanceof Uint8Array) outgoing.end(body);
    else pipeline(Readable.from(body, { objectMode: false }), outgoing).catch(reject);
  });
}

/** HTTP to registries: per-TLS-config agents, auth challenges, bounded retries, manual redirects. */
export class Transport {
  readonly #agents = new Map<string, HttpAgent | HttpsAgent>();
  readonly #attempts: number;
  readonly #baseDelayMs: number;

  constructor(
    readonly authorizer: Authorizer,
    readonly userAgent = defaultUserAgent,
    retry: RetryOptions = {},
    /** Aborts every request, and the reading of every body, once fired (a cancelled pull). */
    private readonly signal?: AbortSignal,
  ) {
    this.#attempts = Math.max(1, retry.attempts ?? 5);
    this.#baseDelayMs = retry.baseDelayMs ?? 200;
  }

  #agent(host: RegistryHost, url: URL): HttpAgent | HttpsAgent {
    const tls = url.protocol === "https:";
    const key = JSON.stringify(tls ? [true, host.skipVerify ?? false, host.ca ?? [], host.client ?? []] : [false]);
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      const first = host.client?.[0];
      agent = tls
        ? new (httpModules["https:"]().Agent)({
            keepAlive: true,
            rejectUnauthorized: !(host.skipVerify ?? false),
            ...(host.ca !== undefined ? { ca: [...host.ca] } : {}),
            ...(first !== undefined ? { cert: first.cert, key: first.key } : {}),
          })
        : new (httpModules["http:"]().Agent)({ keepAlive: true });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  url(req: Pick<RegistryRequest, "host" | "refHost" | "path" | "query">): URL {
    const url = /^https?:\/\//.test(req.path) ? new URL(req.path) : new URL(`${req.host.scheme}://${req.host.host}${req.host.path}${req.path}`);
    for (const [key, value] of Object.entries(req.query ?? {})) url.searchParams.set(key, value);
    // A mirror learns which registry the repository belongs to.
    const own = req.refHost === "docker.io" ? "registry-1.docker.io" : req.refHost;
    if (req.host.host !== own && !url.searchParams.has("ns")) url.searchParams.set("ns", req.refHost);
    return url;
  }

  /** Sends a request; the caller consumes or dumps the body of whatever status comes back. */
  async send(req: RegistryRequest): Promise<RegistryResponse> {
    let url = this.url(req);
    let authAttempts = 0;
    let redirects = 0;
    let sentStream = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { "user-agent": this.userAgent };
      for (const [key, values] of Object.entries(req.host.headers ?? {})) headers[key.toLowerCase()] = values.join(", ");
      Object.assign(headers, req.headers);
      // Credentials go only to the endpoint they were challenged by, never across a redirect.
      const sameOrigin = url.host === req.host.host && req.noAuth !== true;
      const authorization = sameOrigin ? await this.authorizer.header(req.host.host, req.refHost, req.scopes) : undefined;
      if (authorization !== undefined) headers["authorization"] = authorization;
      if (req.body !== undefined && !(req.body instanceof Uint8Array)) {
        if (sentStream) throw unavailable(`${req.method} ${url}: cannot retry a streamed request body`);
        sentStream = true;
      }
      let message: IncomingMessage;
      try {
        if (this.signal?.aborted) throw this.signal.reason;
        message = await request(url, {
          method: req.method,
          headers,
          agent: this.#agent(req.host, url),
          ...(this.signal !== undefined ? { signal: this.signal } : {}),
          ...(req.body !== undefined ? { body: req.body } : {}),
        });
      } catch (error) {
        if (this.signal?.aborted) throw errorOfKind("Canceled", `${req.method} ${url}: canceled`, { cause: error });
        if (attempt >= this.#attempts || sentStream) throw unavailable(`${req.method} ${url}: ${(error as Error).message}`);
        await sleep(this.#backoff(attempt));
        continue;
      }
      const result: RegistryResponse = { status: message.statusCode ?? 0, headers: headersOf(message), body: new MessageBody(message), url: url.toString() };
      if (result.status === 401 && sameOrigin && authAttempts < 2) {
        const challenge = result.headers["www-authenticate"];
        const challenges = challenge === undefined ? [] : Array.isArray(challenge) ? challenge : [challenge];
        if ((await this.authorizer.unauthorized(req.host.host, req.refHost, challenges, authorization !== undefined)) && !sentStream) {
          await result.body.dump();
          authAttempts++;
          attempt--;
          continue;
        }
        return result;
      }
      if ([301, 302, 303, 307, 308].includes(result.status) && (req.method === "GET" || req.method === "HEAD")) {
        const location = header(result, "location");
        await result.body.dump();
        if (location === undefined || ++redirects > 10) throw unavailable(`${req.method} ${url}: bad or too many redirects`);
        url = new URL(location, url);
        attempt--;
        continue;
      }
      if ((result.status === 408 || result.status === 429 || result.status >= 500) && attempt < this.#attempts && !sentStream) {
        const retryAfter = Number(header(result, "retry-after"));
        await result.body.dump();
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 5000) : this.#backoff(attempt));
        continue;
      }
      return result;
    }
  }

  #backoff(attempt: number): number {
    const base = Math.min(this.#baseDelayMs * 2 ** (attempt - 1), 5000);
    return base / 2 + Math.random() * (base / 2);
  }

  async close(): Promise<void> {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}

/** Maps a failed registry response to an error kind, with the registry's error text; dumps the body. */
export async function statusError(response: RegistryResponse, what: string): Promise<BerthError> {
  let detail = "";
  try {
    const text = (await response.body.text()).slice(0, 512);
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
    detail = errors.map((e) => `${e.code ?? ""}: ${e.message ?? ""}`).join("; ");
  } catch {
    // Not every failure carries a JSON error body.
  }
  const message = `${what}: unexpected status ${response.status}${detail === "" ? "" : ` (${detail})`}`;
  if (response.status === 404) return notFound(message);
  if (response.status === 401 || response.status === 403) return errorOfKind("FailedPrecondition", `${message}: unauthorized`);
  if (response.status === 408 || response.status === 429 || response.status >= 500) return unavailable(message);
  if (response.status === 400) return errorOfKind("InvalidArgument", message);
  return errorOfKind("Unknown", message);
}
