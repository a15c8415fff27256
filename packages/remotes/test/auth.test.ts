import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "@berth/api";
import { Resolver } from "@berth/remotes";
import { type RunningRegistry, buildBusyboxImage, htpasswdSupported, pushTestImage, startRegistry } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, startProxy } from "./proxy.js";

const user = { user: "alice", password: "pa55:word" };
const busybox = buildBusyboxImage();
const canAuth = await htpasswdSupported();
const cleanups: (() => Promise<void> | void)[] = [];
let registry: RunningRegistry;

beforeAll(async () => {
  registry = await startRegistry(canAuth ? { htpasswd: user } : {});
  cleanups.push(() => registry.stop());
  await pushTestImage(busybox, { url: registry.url, repository: "private/busybox", tag: "1", ...(canAuth ? { auth: user } : {}) });
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function resolver(options: ConstructorParameters<typeof Resolver>[0] = {}): Resolver {
  const r = new Resolver({ retry: { baseDelayMs: 10 }, ...options });
  cleanups.push(() => r.close());
  return r;
}

describe.skipIf(!canAuth)("basic auth (htpasswd registry)", () => {
  it("refuses without credentials or with wrong ones, as FailedPrecondition", async () => {
    for (const r of [resolver(), resolver({ credentials: { username: "alice", password: "wrong" } })]) {
      const error = await r.resolve(`${registry.host}/private/busybox:1`).catch((e: unknown) => e);
      expect(kindOf(error)).toBe("FailedPrecondition");
      expect((error as Error).message).toMatch(/401.*unauthorized/);
    }
  });

  it("works with credentials from options and from a docker config.json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-remotes-dockercfg-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${user.user}:${user.password}`).toString("base64") } } }),
    );
    for (const [i, r] of [
      resolver({ credentials: { username: user.user, password: user.password } }),
      resolver({ dockerConfig: join(dir, "config.json") }),
    ].entries()) {
      const ref = `${registry.host}/private/busybox:1`;
      const resolved = await r.resolve(ref);
      expect(resolved.descriptor).toEqual(busybox.manifest);
      expect((await collect(r.fetcher(ref).fetch(busybox.layers[0]!))).byteLength).toBe(busybox.layers[0]!.size);
      expect(
        await r.pusher(`${registry.host}/private/copy${i}:1`).push(busybox.config, busybox.blobs.get(busybox.config.digest)!, { mountFrom: "private/busybox" }),
      ).toBe("mounted");
    }
  });
});

describe("bearer token auth (token server in front of the registry)", () => {
  it("gets anonymous GET tokens and POSTed password tokens with the right scopes", async () => {
    const tokenRequests: { method: string; url: string; body: string }[] = [];
    const upstreamAuth = canAuth ? `Basic ${Buffer.from(`${user.user}:${user.password}`).toString("base64")}` : undefined;
    const front = await startProxy(registry.host, {
      intercept(req, res) {
        if ((req.url ?? "").startsWith("/token")) {
          let body = "";
          req.on("data", (chunk: Buffer) => (body += chunk));
          req.on("end", () => {
            tokenRequests.push({ method: req.method ?? "", url: req.url ?? "", body });
            const form = new URLSearchParams(body);
            const ok = req.method === "GET" || form.get("password") === "tok-pass";
            res
              .writeHead(ok ? 200 : 401, { "content-type": "application/json" })
              .end(JSON.stringify(ok ? { access_token: req.method === "GET" ? "anon" : "named", expires_in: 300 } : {}));
          });
          return true;
        }
        const authorization = req.headers.authorization;
        if (authorization !== "Bearer anon" && authorization !== "Bearer named") {
          res
            .writeHead(401, { "www-authenticate": `Bearer realm="http://${front.host}/token",service="berth-test"`, "content-type": "application/json" })
            .end("{}");
          return true;
        }
        // The registry behind wants its own (basic) credentials.
        if (upstreamAuth !== undefined) req.headers.authorization = upstreamAuth;
        else delete req.headers.authorization;
        return false;
      },
    });
    cleanups.push(() => front.close());
    const ref = `${front.host}/private/busybox:1`;

    const anonymous = resolver();
    expect((await anonymous.resolve(ref)).descriptor).toEqual(busybox.manifest);
    expect(tokenRequests[0]).toMatchObject({ method: "GET" });
    const url = new URL(tokenRequests[0]!.url, "http://x");
    expect(url.searchParams.get("service")).toBe("berth-test");
    expect(url.searchParams.getAll("scope")).toEqual(["repository:private/busybox:pull"]);
    // The token is cached per scope set: a fetch in the same repository asks for no new one.
    await collect(anonymous.fetcher(ref).fetch(busybox.config));
    expect(tokenRequests).toHaveLength(1);

    const named = resolver({ credentials: { username: "bob", password: "tok-pass" } });
    await named.pusher(ref).push(busybox.config, busybox.blobs.get(busybox.config.digest)!);
    const post = tokenRequests[1]!;
    expect(post.method).toBe("POST");
    const form = new URLSearchParams(post.body);
    expect(Object.fromEntries(form)).toMatchObject({
      grant_type: "password",
      username: "bob",
      client_id: "containerd-client",
      scope: "repository:private/busybox:pull,push",
      service: "berth-test",
    });
  });
});
