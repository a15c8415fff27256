import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isKind } from "@berth/api";
import { configureHosts, defaultHost, dockerConfigCredentials, parseChallenges } from "@berth/remotes";
import { afterEach, describe, expect, it } from "vitest";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "berth-remotes-hosts-"));
  dirs.push(dir);
  return dir;
}

describe("hosts", () => {
  it("defaults: docker.io → registry-1.docker.io https; loopback → http; plainHttp", () => {
    expect(defaultHost("docker.io")).toMatchObject({ host: "registry-1.docker.io", scheme: "https", path: "/v2" });
    expect(defaultHost("127.0.0.1:5000")).toMatchObject({ host: "127.0.0.1:5000", scheme: "http" });
    expect(defaultHost("registry.example:5000")).toMatchObject({ scheme: "https" });
    expect(defaultHost("registry.example:5000", { plainHttp: true })).toMatchObject({ scheme: "http" });
    expect(defaultHost("registry.example", { skipVerify: true }).skipVerify).toBe(true);
  });

  it("reads <dir>/<host>_<port>_/hosts.toml: [host] entries in order, then server", () => {
    const root = tempDir();
    const dir = join(root, "registry.example_5000_");
    mkdirSync(dir);
    writeFileSync(join(dir, "ca.pem"), "PEM");
    writeFileSync(
      join(dir, "hosts.toml"),
      `server = "https://registry.example:5000"
ca = "ca.pem"

[host."http://127.0.0.1:5001"]
  capabilities = ["pull", "resolve"]

[host."mirror.example/base"]
  capabilities = ["pull"]
  skip_verify = true
  [host."mirror.example/base".header]
    x-custom = "1"

[host."https://other.example/custom"]
  override_path = true
`,
    );
    const hosts = configureHosts("registry.example:5000", { hostsDir: root });
    expect(hosts.map((h) => [h.scheme, h.host, h.path, h.capabilities])).toEqual([
      ["http", "127.0.0.1:5001", "/v2", ["pull", "resolve"]],
      ["https", "mirror.example", "/base/v2", ["pull"]],
      ["https", "other.example", "/custom", ["pull", "resolve", "push"]],
      ["https", "registry.example:5000", "/v2", ["pull", "resolve", "push"]],
    ]);
    expect(hosts[1]).toMatchObject({ skipVerify: true, headers: { "x-custom": ["1"] } });
    expect(hosts[3]?.ca).toEqual(["PEM"]);
  });

  it("falls back to <dir>/<host:port>, _default, and the built-in default", () => {
    const root = tempDir();
    mkdirSync(join(root, "127.0.0.1:6000"));
    writeFileSync(join(root, "127.0.0.1:6000", "hosts.toml"), `[host."http://127.0.0.1:7000"]\n`);
    expect(configureHosts("127.0.0.1:6000", { hostsDir: root }).map((h) => h.host)).toEqual(["127.0.0.1:7000", "127.0.0.1:6000"]);
    expect(configureHosts("elsewhere.example", { hostsDir: root }).map((h) => h.host)).toEqual(["elsewhere.example"]);
    mkdirSync(join(root, "_default"));
    writeFileSync(join(root, "_default", "hosts.toml"), `server = "http://127.0.0.1:7001"\n`);
    expect(configureHosts("elsewhere.example", { hostsDir: root }).map((h) => `${h.scheme}://${h.host}`)).toEqual(["http://127.0.0.1:7001"]);
  });

  it("rejects an unparsable hosts.toml and unknown capabilities", () => {
    const root = tempDir();
    mkdirSync(join(root, "a.example"));
    writeFileSync(join(root, "a.example", "hosts.toml"), "server = \n");
    expect(() => configureHosts("a.example", { hostsDir: root })).toThrow();
    writeFileSync(join(root, "a.example", "hosts.toml"), `[host."https://b.example"]\ncapabilities = ["fly"]\n`);
    try {
      configureHosts("a.example", { hostsDir: root });
      expect.unreachable();
    } catch (error) {
      expect(isKind(error, "InvalidArgument")).toBe(true);
    }
  });
});

describe("auth helpers", () => {
  it("parses WWW-Authenticate challenges", () => {
    expect(
      parseChallenges([`Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"`, `Basic realm="x"`]),
    ).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull,push" } },
      { scheme: "basic", params: { realm: "x" } },
    ]);
    expect(parseChallenges([`Bearer realm="r",error="insufficient_scope"`])[0]?.params["error"]).toBe("insufficient_scope");
  });

  it("reads docker config.json auths", () => {
    const dir = tempDir();
    const path = join(dir, "config.json");
    writeFileSync(
      path,
      JSON.stringify({
        auths: {
          "127.0.0.1:5000": { auth: Buffer.from("alice:s3cr:et").toString("base64") },
          "https://index.docker.io/v1/": { auth: Buffer.from("hub:pw").toString("base64") },
        },
      }),
    );
    const lookup = dockerConfigCredentials(path);
    expect(lookup("127.0.0.1:5000")).toEqual({ username: "alice", password: "s3cr:et" });
    expect(lookup("docker.io")).toEqual({ username: "hub", password: "pw" });
    expect(lookup("other.example")).toBeUndefined();
    expect(dockerConfigCredentials(join(dir, "missing.json"))("x")).toBeUndefined();
  });
});
