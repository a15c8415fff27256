import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { errorOfKind, invalidArgument } from "@berth/api";

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Credentials for a registry host (as in the ref, e.g. `docker.io`, `127.0.0.1:5000`), or none. It
 * is asked when a host first challenges (`challenges`: its `WWW-Authenticate` values) and may answer
 * later (berthd's Transfer service asks its client over a stream); an answer is kept per host.
 */
export type CredentialsSource = (host: string, challenges?: readonly string[]) => Credentials | undefined | Promise<Credentials | undefined>;

export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `WWW-Authenticate` values: `Bearer realm="…",service="…",scope="…"` and `Basic realm="…"`. */
export function parseChallenges(values: readonly string[]): Challenge[] {
  const challenges: Challenge[] = [];
  for (const value of values) {
    const pattern = /\s*([A-Za-z][\w-]*)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*)))?\s*,?/gy;
    let current: { scheme: string; params: Record<string, string> } | undefined;
    let match: RegExpExecArray | null;
    while (pattern.lastIndex < value.length && (match = pattern.exec(value)) !== null) {
      const [, key = "", quoted, bare] = match;
      if (quoted === undefined && bare === undefined) {
        current = { scheme: key.toLowerCase(), params: {} };
        challenges.push(current);
      } else if (current !== undefined) {
        current.params[key.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : (bare ?? "");
      }
      if (match[0] === "") break;
    }
  }
  return challenges;
}

interface DockerConfig {
  readonly auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
}

/** Reads docker's config.json (`auths.<host>.auth` = base64 user:pass); a missing file means no credentials. */
export function dockerConfigCredentials(path = join(process.env["DOCKER_CONFIG"] ?? join(homedir(), ".docker"), "config.json")): CredentialsSource {
  let config: DockerConfig;
  try {
    config = JSON.parse(readFileSync(path, "utf8")) as DockerConfig;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return () => undefined;
    throw invalidArgument(`docker config ${path}: ${(error as Error).message}`);
  }
  const auths = config.auths ?? {};
  return (host) => {
    // Docker keeps Hub credentials under its v1 index URL.
    const keys = host === "docker.io" ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io"] : [host, `https://${host}`, `http://${host}`];
    for (const key of keys) {
      const entry = auths[key];
      if (entry === undefined) continue;
      if (entry.auth !== undefined && entry.auth !== "") {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon === -1) throw invalidArgument(`docker config ${path}: auth for ${key} is not base64 user:password`);
        return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
      if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
    }
    return undefined;
  };
}

/** Issues token requests; supplied by the transport so that auth has no HTTP stack of its own. */
export type TokenFetcher = (request: {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  body?: string;
}) => Promise<{ status: number; json: unknown }>;

interface HostAuth {
  scheme: "basic" | "bearer";
  params: Readonly<Record<string, string>>;
  /** What the credentials source answered for the ref's host when this host challenged. */
  creds: Credentials | undefined;
}

/**
 * Per-host authorization state, like containerd's docker authorizer: the first challenge from a
 * host fixes its scheme (and bearer realm/service); bearer tokens are cached per scope set.
 */
export class Authorizer {
  readonly #hosts = new Map<string, HostAuth>();
  readonly #tokens = new Map<string, { token: string; expires: number }>();

  constructor(
    readonly credentials: CredentialsSource,
    readonly fetchToken: TokenFetcher,
  ) {}

  /** The Authorization header for a request to `host` (the endpoint), or none before any challenge. */
  async header(host: string, refHost: string, scopes: readonly string[]): Promise<string | undefined> {
    const auth = this.#hosts.get(host);
    if (auth === undefined) return undefined;
    const creds = auth.creds;
    if (auth.scheme === "basic") {
      return creds === undefined ? undefined : `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
    }
    const scope = [...new Set([...(auth.params["scope"]?.split(" ") ?? []), ...scopes])].filter((s) => s !== "").sort();
    const key = `${host}\n${scope.join(" ")}`;
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const token = await this.#requestToken(auth.params, scope, creds);
    this.#tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  /**
   * Records a 401's challenges. Returns true when a retry may succeed; false when the host already
   * had this scheme and the answer is still 401 (bad or missing credentials, denied scope).
   */
  async unauthorized(host: string, refHost: string, challengeHeaders: readonly string[], sentAuthorization: boolean): Promise<boolean> {
    const challenges = parseChallenges(challengeHeaders);
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const basic = challenges.find((c) => c.scheme === "basic");
    const previous = this.#hosts.get(host);
    if (bearer === undefined && basic === undefined) return false;
    const creds = previous !== undefined ? previous.creds : await this.credentials(refHost, challengeHeaders);
    if (bearer !== undefined) {
      if (previous?.scheme === "bearer" && sentAuthorization) {
        // A token was sent and refused: only a new scope in the challenge can help.
        const known = new Set(previous.params["scope"]?.split(" ") ?? []);
        const wanted = (bearer.params["scope"] ?? "").split(" ").filter((s) => s !== "");
        if (bearer.params["error"] !== undefined || wanted.every((s) => known.has(s))) return false;
      }
      this.#hosts.set(host, { scheme: "bearer", params: bearer.params, creds });
      return true;
    }
    if (creds === undefined) return false;
    if (previous?.scheme === "basic" && sentAuthorization) return false;
    this.#hosts.set(host, { scheme: "basic", params: basic!.params, creds });
    return true;
  }

  async #requestToken(
    params: Readonly<Record<string, string>>,
    scopes: readonly string[],
    creds: Credentials | undefined,
  ): Promise<{ token: string; expires: number }> {
    const realm = params["realm"];
    if (realm === undefined || !/^https?:\/\//.test(realm)) throw invalidArgument(`bearer challenge has no usable realm: ${JSON.stringify(realm)}`);
    const service = params["service"] ?? "";
    let answer: { status: number; json: unknown } | undefined;
    if (creds !== undefined) {
      const form = new URLSearchParams({ grant_type: "password", username: creds.username, password: creds.password, service, client_id: "containerd-client" });
      if (scopes.length > 0) form.set("scope", scopes.join(" "));
      answer = await this.fetchToken({ method: "POST", url: realm, headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() });
      // Registries without OAuth POST support answer these; docker's GET token form is the fallback.
      if ([400, 401, 404, 405].includes(answer.status)) answer = undefined;
    }
    if (answer === undefined) {
      const url = new URL(realm);
      if (service !== "") url.searchParams.set("service", service);
      for (const scope of scopes) url.searchParams.append("scope", scope);
      const headers: Record<string, string> = {};
      if (creds !== undefined) headers["authorization"] = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
      answer = await this.fetchToken({ method: "GET", url: url.toString(), headers });
    }
    if (answer.status !== 200) throw errorOfKind("FailedPrecondition", `token request to ${realm} answered ${answer.status}: unauthorized`);
    const json = (answer.json ?? {}) as { token?: string; access_token?: string; expires_in?: number };
    const token = json.token ?? json.access_token;
    if (typeof token !== "string" || token === "") throw errorOfKind("FailedPrecondition", `token response from ${realm} has no token`);
    // Tokens default to 60 s lifetime; refresh a little early.
    const seconds = typeof json.expires_in === "number" && json.expires_in > 0 ? json.expires_in : 60;
    return { token, expires: Date.now() + Math.max(seconds - 10, 1) * 1000 };
  }
}
