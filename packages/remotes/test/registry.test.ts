import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isKind, kindOf } from "@berth/api";
import { type Descriptor, Resolver } from "@berth/remotes";
import {
  type RunningRegistry,
  type TestImage,
  buildBusyboxImage,
  buildMultiLayerImage,
  buildMultiPlatformIndex,
  pushTestImage,
  startRegistry,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, type RunningProxy, startProxy } from "./proxy.js";

let registry: RunningRegistry;
const cleanups: (() => Promise<void> | void)[] = [];
const busybox = buildBusyboxImage();

beforeAll(async () => {
  registry = await startRegistry();
  cleanups.push(() => registry.stop());
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function resolver(options: ConstructorParameters<typeof Resolver>[0] = {}): Resolver {
  const r = new Resolver({ retry: { baseDelayMs: 10 }, ...options });
  cleanups.push(() => r.close());
  return r;
}

async function proxy(hooks: Parameters<typeof startProxy>[1]): Promise<RunningProxy> {
  const p = await startProxy(registry.host, hooks);
  cleanups.push(() => p.close());
  return p;
}

async function pushAll(r: Resolver, ref: string, image: TestImage): Promise<string[]> {
  const pusher = r.pusher(ref);
  const results: string[] = [];
  for (const descriptor of image.pushOrder) {
    const isRoot = descriptor.digest === image.manifest.digest;
    results.push(await pusher.push(descriptor, image.blobs.get(descriptor.digest)!, { byDigest: !isRoot }));
  }
  return results;
}

describe("against docker-registry", () => {
  it("pushes busybox, resolves by tag and digest, fetches and verifies everything", async () => {
    const r = resolver();
    const ref = `${registry.host}/test/busybox:1.0`;
    expect(await pushAll(r, ref, busybox)).toEqual(["pushed", "pushed", "pushed"]);
    // Second time round everything is already there.
    expect(await pushAll(r, ref, busybox)).toEqual(["exists", "exists", "exists"]);

    const byTag = await r.resolve(ref);
    expect(byTag).toEqual({ name: ref, descriptor: busybox.manifest });
    const digestRef = `${registry.host}/test/busybox@${busybox.manifest.digest}`;
    expect((await r.resolve(digestRef)).descriptor).toEqual(busybox.manifest);

    const fetcher = r.fetcher(ref);
    const manifest = JSON.parse((await collect(fetcher.fetch(byTag.descriptor))).toString()) as { config: Descriptor; layers: Descriptor[] };
    expect(manifest.config).toEqual(busybox.config);
    expect(manifest.layers).toEqual(busybox.layers);
    for (const descriptor of [manifest.config, ...manifest.layers]) {
      expect(Buffer.compare(await collect(fetcher.fetch(descriptor)), Buffer.from(busybox.blobs.get(descriptor.digest)!))).toBe(0);
    }
  });

  it("resumes a blob fetch from an offset, verifying the whole blob", async () => {
    const r = resolver();
    const ref = `${registry.host}/test/resume:1`;
    await pushAll(r, ref, busybox);
    const layer = busybox.layers[0]!;
    const bytes = Buffer.from(busybox.blobs.get(layer.digest)!);
    const offset = 123_457;
    const rest = await collect(r.fetcher(ref).fetch(layer, { offset, prefix: bytes.subarray(0, offset) }));
    expect(Buffer.compare(rest, bytes.subarray(offset))).toBe(0);
    // A prefix that is not the blob's makes the resumed fetch fail its digest check.
    const wrong = Buffer.from(bytes.subarray(0, offset));
    wrong[10] = wrong[10]! ^ 0xff;
    await expect(collect(r.fetcher(ref).fetch(layer, { offset, prefix: wrong }))).rejects.toSatisfy((e) => isKind(e, "DataLoss"));
    await expect(collect(r.fetcher(ref).fetch(layer, { offset }))).rejects.toSatisfy((e) => isKind(e, "InvalidArgument"));
  });

  it("resolves a two-platform index to the index", async () => {
    const r = resolver();
    const index = buildMultiPlatformIndex();
    await pushTestImage(index, { url: registry.url, repository: "test/multi", tag: "v1" });
    const resolved = await r.resolve(`${registry.host}/test/multi:v1`);
    expect(resolved.descriptor).toEqual(index.manifest);
    expect(resolved.descriptor.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    const body = JSON.parse((await collect(r.fetcher(resolved.name).fetch(resolved.descriptor))).toString()) as { manifests: Descriptor[] };
    expect(body.manifests.map((m) => m.platform?.architecture)).toEqual(["amd64", "arm64"]);
  });

  it("round-trips the multi-layer and zstd images, and cross-mounts blobs", async () => {
    const r = resolver();
    for (const [name, image] of [
      ["multi-layer", buildMultiLayerImage()],
      ["zstd", buildBusyboxImage({ compression: "zstd" })],
    ] as const) {
      const ref = `${registry.host}/test/${name}:latest`;
      await pushAll(r, ref, image);
      const resolved = await r.resolve(ref);
      expect(resolved.descriptor).toEqual(image.manifest);
      for (const layer of image.layers) expect((await collect(r.fetcher(ref).fetch(layer))).byteLength).toBe(layer.size);
    }
    const layer = busybox.layers[0]!;
    const result = await r.pusher(`${registry.host}/test/mounted:1`).push(layer, busybox.blobs.get(layer.digest)!, { mountFrom: "test/busybox" });
    expect(result).toBe("mounted");
  });

  it("streams a blob push and refuses content that is not the descriptor's", async () => {
    const r = resolver();
    const layer = buildMultiLayerImage().layers[1]!;
    const bytes = buildMultiLayerImage().blobs.get(layer.digest)!;
    async function* chunks(data: Uint8Array) {
      for (let i = 0; i < data.byteLength; i += 100) yield data.subarray(i, i + 100);
    }
    const bad = Buffer.from(bytes);
    bad[0] = bad[0]! ^ 1;
    await expect(r.pusher(`${registry.host}/test/stream:1`).push(layer, chunks(bad))).rejects.toSatisfy(
      (e) => isKind(e, "DataLoss") || isKind(e, "InvalidArgument"),
    );
    expect(await r.pusher(`${registry.host}/test/stream:1`).push(layer, chunks(bytes))).toBe("pushed");
  });

  it("reports missing tags, repositories and objects with the right kinds", async () => {
    const r = resolver();
    await expect(r.resolve(`${registry.host}/test/busybox:nope`)).rejects.toSatisfy((e) => isKind(e, "NotFound"));
    await expect(r.resolve(`${registry.host}/test/none@sha256:${"0".repeat(64)}`)).rejects.toSatisfy((e) => isKind(e, "NotFound"));
    await expect(r.resolve(`${registry.host}/test/busybox`)).rejects.toThrow(/object required/);
    const missing: Descriptor = { mediaType: "application/octet-stream", digest: `sha256:${"1".repeat(64)}`, size: 3 };
    await expect(collect(r.fetcher(`${registry.host}/test/busybox:1.0`).fetch(missing))).rejects.toSatisfy((e) => isKind(e, "NotFound"));
  });

  it("fails a fetch through a tampering proxy with DataLoss and never yields the complete blob", async () => {
    const tamper = await proxy({
      rewrite(req, status, _headers, body) {
        if (req.method === "GET" && status === 200 && body.byteLength > 0 && (req.url ?? "").includes("/blobs/"))
          body[Math.floor(body.byteLength / 2)]! ^= 0x01;
        if (req.method === "GET" && status === 200 && (req.url ?? "").includes("/manifests/sha256:")) body[0] = 0x20;
        return body;
      },
    });
    const r = resolver();
    const ref = `${tamper.host}/test/busybox:1.0`;
    for (const descriptor of [busybox.layers[0]!, busybox.config, busybox.manifest]) {
      let received = 0;
      let caught: unknown;
      try {
        for await (const chunk of r.fetcher(ref).fetch(descriptor)) received += chunk.byteLength;
      } catch (error) {
        caught = error;
      }
      expect(kindOf(caught)).toBe("DataLoss");
      expect((caught as Error).message).toMatch(/digest mismatch/);
      expect(received).toBeLessThan(descriptor.size);
    }
  });

  it("leaves the digest to a consumer that verifies it, checking only the length, from the first byte", async () => {
    const tamper = await proxy({
      rewrite(req, status, _headers, body) {
        if (req.method === "GET" && status === 200 && body.byteLength > 0 && (req.url ?? "").includes("/blobs/")) body[0]! ^= 0x01;
        return body;
      },
    });
    const r = resolver();
    await pushAll(r, `${registry.host}/test/trusting:1`, busybox);
    const layer = busybox.layers[0]!;
    const bytes = await collect(r.fetcher(`${tamper.host}/test/trusting:1`).fetch(layer, { verifiedByConsumer: true }));
    expect(bytes.byteLength).toBe(layer.size);
    expect(bytes[0]).toBe(busybox.blobs.get(layer.digest)![0]! ^ 0x01);
    // A blob longer than its descriptor still fails here.
    const longer = { ...layer, size: layer.size - 1 };
    await expect(collect(r.fetcher(`${registry.host}/test/trusting:1`).fetch(longer, { verifiedByConsumer: true }))).rejects.toSatisfy((e) =>
      isKind(e, "DataLoss"),
    );
  });

  it("retries 5xx and 429, falls back to GET when HEAD lacks digest headers, sends containerd's headers", async () => {
    let failures = 0;
    const flaky = await proxy({
      intercept(req, res) {
        if (req.method === "GET" && (req.url ?? "").includes("/blobs/") && failures < 2) {
          failures++;
          res.writeHead(failures === 1 ? 503 : 429).end();
          return true;
        }
        return false;
      },
      rewrite(req, _status, headers, body) {
        if (req.method === "HEAD") delete headers["docker-content-digest"];
        return body;
      },
    });
    const r = resolver();
    const ref = `${flaky.host}/test/busybox:1.0`;
    expect((await r.resolve(ref)).descriptor).toEqual(busybox.manifest);
    expect(flaky.requests.filter((q) => q.url.includes("/manifests/1.0")).map((q) => q.method)).toEqual(["HEAD", "GET"]);
    const head = flaky.requests.find((q) => q.method === "HEAD")!;
    expect(head.headers["user-agent"]).toMatch(/^containerd\/1\.6/);
    expect(head.headers.accept).toContain("application/vnd.oci.image.index.v1+json");
    expect((await collect(r.fetcher(ref).fetch(busybox.config))).byteLength).toBe(busybox.config.size);
    expect(failures).toBe(2);
    // Persistent failure is bounded and reported as Unavailable.
    const down = await proxy({
      intercept(_req, res) {
        res.writeHead(500).end();
        return true;
      },
    });
    const bounded = resolver({ retry: { attempts: 3, baseDelayMs: 1 } });
    await expect(collect(bounded.fetcher(`${down.host}/test/busybox:1.0`).fetch(busybox.config))).rejects.toSatisfy((e) => isKind(e, "Unavailable"));
    expect(down.requests.length).toBe(3);
  });

  it("uses hosts.toml endpoints in order, skipping an unreachable mirror, with a ns parameter", async () => {
    const mirror = await proxy({});
    const hostsDir = mkdtempSync(join(tmpdir(), "berth-remotes-hostsdir-"));
    cleanups.push(() => rmSync(hostsDir, { recursive: true, force: true }));
    const refHost = "registry.invalid:5000";
    mkdirSync(join(hostsDir, "registry.invalid_5000_"));
    writeFileSync(
      join(hostsDir, "registry.invalid_5000_", "hosts.toml"),
      `server = "http://${registry.host}"

[host."http://127.0.0.1:1"]
  capabilities = ["pull", "resolve"]

[host."http://${mirror.host}"]
  capabilities = ["pull", "resolve"]
`,
    );
    const r = resolver({ hostsDir, retry: { attempts: 1 } });
    const ref = `${refHost}/test/busybox:1.0`;
    expect((await r.resolve(ref)).descriptor).toEqual(busybox.manifest);
    expect(mirror.requests[0]?.url).toContain("ns=registry.invalid%3A5000");
    expect((await collect(r.fetcher(ref).fetch(busybox.config))).byteLength).toBe(busybox.config.size);
    // Pushes go to the first push-capable host: the server.
    expect(await r.pusher(ref).push(busybox.config, busybox.blobs.get(busybox.config.digest)!)).toBe("exists");
  });

  it("plainHttp reaches a non-loopback-named registry over http", async () => {
    const r = resolver({ plainHttp: true, hosts: undefined });
    // localhost also defaults to http; plainHttp is what makes other names work (here still loopback).
    expect((await r.resolve(`${registry.host.replace("127.0.0.1", "localhost")}/test/busybox:1.0`)).descriptor).toEqual(busybox.manifest);
  });
});
