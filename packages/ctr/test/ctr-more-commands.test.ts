import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync, lstatSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, withLease } from "@berth/client";
import { writeBlob } from "@berth/content";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  buildMultiPlatformIndex,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
  testDirectory,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const ansi = /\x1b\[[0-9;]*m/g;

/** Every entry under `root` (but the root and the directories the install made) as name, mode, owner, mtime, link and content hash. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (directory: string) => {
    for (const name of readdirSync(directory).sort()) {
      const path = join(directory, name);
      const stat = lstatSync(path);
      const content = stat.isFile()
        ? createHash("sha256").update(readFileSync(path)).digest("hex")
        : stat.isSymbolicLink()
          ? `-> ${readlinkSync(path)}`
          : "dir";
      out.push(`${path.slice(root.length)} ${stat.mode.toString(8)} ${stat.uid}:${stat.gid} ${stat.isDirectory() ? "" : stat.mtimeMs} ${content}`);
      if (stat.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

const daemons: { name: string; start: () => Promise<RunningDaemon | undefined> }[] = [
  { name: "berthd", start: () => startBerthd() },
  { name: "stock containerd", start: startStockContainerd },
];

for (const { name, start } of daemons) {
  describe.skipIf(!stockContainerdInstalled)(`Berth's ctr content/images/snapshots/install commands against ${name}, beside stock ctr`, () => {
    let registry: RunningRegistry;
    let daemon: RunningDaemon;
    let scratch: string;
    const busybox = buildBusyboxImage();
    const multi = buildMultiPlatformIndex();
    let ref: string;
    let multiRef: string;
    // Each CLI works in its own namespace, so that neither sees what the other made.
    const tools = {
      berth: (args: string[], env: NodeJS.ProcessEnv = {}) =>
        runCommand(process.execPath, [berthCtr, "--address", daemon.address, "-n", "berth", ...args], { env: { PATH: process.env.PATH, ...env } }),
      stock: (args: string[], env: NodeJS.ProcessEnv = {}) =>
        runCommand(stockCtr!, ["--address", daemon.address, "-n", "stock", ...args], { env: { PATH: process.env.PATH, ...env } }),
    };
    const both = async (args: string[], env: NodeJS.ProcessEnv = {}) => ({ berth: await tools.berth(args, env), stock: await tools.stock(args, env) });
    const binary = (tool: "berth" | "stock", args: string[]) => {
      const [command, ...prefix] = tool === "berth" ? [process.execPath, berthCtr] : [stockCtr!];
      return spawnSync(command!, [...prefix, "--address", daemon.address, "-n", tool, ...args], { env: { PATH: process.env.PATH }, maxBuffer: 64 << 20 });
    };

    beforeAll(async () => {
      registry = await startRegistry();
      daemon = (await start())!;
      scratch = testDirectory("ctr-more");
      ref = `${registry.host}/library/busybox:1.35`;
      multiRef = `${registry.host}/library/multi:1`;
      await pushTestImage(busybox, { url: registry.url, repository: "library/busybox", tag: "1.35" });
      await pushTestImage(multi, { url: registry.url, repository: "library/multi", tag: "1" });
    });
    afterAll(async () => {
      await daemon?.cleanup();
      await registry?.stop();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it("content fetch records the image unpacked nowhere, with stock ctr's progress lines", async () => {
      const fetched = await both(["content", "fetch", "--plain-http", ref]);
      expect(fetched.berth.stderr).toBe("");
      expect(fetched.berth.code).toBe(0);
      // Stock ctr's display now and then repeats a line of its last frame: compared as sets.
      const descriptorLines = (text: string) =>
        [
          ...new Set(
            text
              .replace(ansi, "")
              .split("\n")
              .filter((line) => /^(manifest|layer|config)-sha256/.test(line)),
          ),
        ].sort();
      expect(descriptorLines(fetched.berth.stdout)).toEqual(descriptorLines(fetched.stock.stdout));
      expect(descriptorLines(fetched.berth.stdout)).toHaveLength(3);
      const listed = await both(["images", "ls"]);
      expect(listed.berth.stdout).toBe(listed.stock.stdout);
      expect(listed.berth.stdout).toContain(busybox.manifest.digest);
      const checked = await both(["images", "check"]);
      expect(checked.berth.stdout).toBe(checked.stock.stdout);
      expect(checked.berth.stdout).toMatch(/complete \(2\/2\).*false\n$/);
    });

    it("content fetch --metadata-only and --all-metadata store the blobs stock ctr's do", async () => {
      for (const flag of ["--metadata-only", "--all-metadata"]) {
        const namespace = flag.slice(2);
        const run = (tool: "berth" | "stock", args: string[]) =>
          tool === "berth"
            ? runCommand(process.execPath, [berthCtr, "--address", daemon.address, "-n", `${namespace}-berth`, ...args], { env: { PATH: process.env.PATH } })
            : runCommand(stockCtr!, ["--address", daemon.address, "-n", `${namespace}-stock`, ...args]);
        const stored: Record<string, string> = {};
        for (const tool of ["berth", "stock"] as const) {
          expect((await run(tool, ["content", "fetch", flag, "--plain-http", multiRef])).code).toBe(0);
          stored[tool] = (await run(tool, ["content", "ls", "-q"])).stdout;
        }
        expect(stored.berth).toBe(stored.stock);
        // Both platforms' manifests and configs; the layer only with --all-metadata (for this host).
        expect(stored.berth!.split("\n").filter(Boolean)).toHaveLength(flag === "--metadata-only" ? 5 : 6);
      }
    });

    it("content fetch-object writes the object as stock ctr does", async () => {
      const berth = binary("berth", ["content", "fetch-object", "--plain-http", `${registry.host}/library/busybox@${busybox.layers[0]!.digest}`]);
      const stock = binary("stock", ["content", "fetch-object", "--plain-http", `${registry.host}/library/busybox@${busybox.layers[0]!.digest}`]);
      expect(berth.status).toBe(0);
      expect(Buffer.compare(berth.stdout, stock.stdout)).toBe(0);
      expect(Buffer.compare(berth.stdout, Buffer.from(busybox.blobs.get(busybox.layers[0]!.digest)!))).toBe(0);
      const manifest = await both(["content", "fetch-object", "--plain-http", ref]);
      expect(manifest.berth.stdout).toBe(manifest.stock.stdout);
      expect([manifest.berth.stderr, manifest.berth.code]).toEqual([manifest.stock.stderr, 0]);
    });

    it("content push-object pushes a blob and a manifest, and refuses one the registry has", async () => {
      const layer = busybox.layers[0]!;
      for (const tool of ["stock", "berth"] as const) {
        const target = `${registry.host}/pushed/${tool}:1`;
        const pushed = await tools[tool](["content", "push-object", "--plain-http", target, layer.digest, layer.mediaType]);
        expect([pushed.stdout, pushed.code]).toEqual([`Pushed ${layer.digest} ${layer.mediaType}\n`, 0]);
        await tools[tool](["content", "push-object", "--plain-http", target, busybox.config.digest, busybox.config.mediaType]);
        const manifest = await tools[tool](["content", "push-object", "--plain-http", target, busybox.manifest.digest, busybox.manifest.mediaType]);
        expect(manifest.stdout).toBe(`Pushed ${busybox.manifest.digest} ${busybox.manifest.mediaType}\n`);
        const again = await tools[tool](["content", "push-object", "--plain-http", target, layer.digest, layer.mediaType]);
        expect([again.stderr, again.code]).toEqual([`ctr: content ${layer.digest} on remote: already exists\n`, 1]);
        const tags = (await (await fetch(`${registry.url}/v2/pushed/${tool}/tags/list`)).json()) as { tags: string[] };
        expect(tags.tags).toEqual(["1"]);
      }
      const bad = await both(["content", "push-object", "--plain-http", `${registry.host}/pushed/x:1`, "nope", "x"]);
      expect([bad.berth.stderr, bad.berth.code]).toEqual([bad.stock.stderr, bad.stock.code]);
    });

    it("content edit stores what the editor wrote and prints its digest, failing as stock ctr does", async () => {
      const editor = join(scratch, "editor.sh");
      writeFileSync(editor, `#!/bin/sh\nsed 's/amd64/arm64/' "$1" > "$1.new" && cat "$1.new" > "$1" && rm "$1.new"\necho edited\n`);
      chmodSync(editor, 0o755);
      const failing = join(scratch, "exit3.sh");
      writeFileSync(failing, "#!/bin/sh\nexit 3\n");
      chmodSync(failing, 0o755);
      const config = busybox.config.digest;
      // The copies the editor works on go under $XDG_RUNTIME_DIR (stock ctr leaves them behind when the editor fails).
      const XDG_RUNTIME_DIR = scratch;
      const edited = await both(["content", "edit", config], { EDITOR: editor, XDG_RUNTIME_DIR });
      const expected = `sha256:${createHash("sha256")
        .update(Buffer.from(busybox.blobs.get(config)!).toString().replace("amd64", "arm64"))
        .digest("hex")}`;
      expect(edited.berth.stdout).toBe(`edited\n${expected}\n`);
      expect([edited.stock.stdout, edited.berth.code]).toEqual([edited.berth.stdout, 0]);
      for (const [env, args] of [
        [{ EDITOR: "true" }, [config]],
        [{ EDITOR: failing }, [config]],
        [{}, [config]],
        [{ EDITOR: editor }, ["--validate", "json", config]],
        [{ EDITOR: editor }, ["bad"]],
      ] as const) {
        const failed = await both(["content", "edit", ...args], { ...env, XDG_RUNTIME_DIR });
        expect([failed.berth.stderr, failed.berth.code]).toEqual([failed.stock.stderr, failed.stock.code]);
        expect(failed.berth.code).not.toBe(0);
      }
    });

    it("content prune references --dry logs the layer references it would remove", async () => {
      const pruned = await both(["content", "prune", "references", "--dry"]);
      const lines = (text: string) =>
        text
          .replace(/time="[^"]*" /g, "")
          .split("\n")
          .filter(Boolean)
          .sort();
      expect(lines(pruned.berth.stderr)).toEqual(lines(pruned.stock.stderr));
      expect(lines(pruned.berth.stderr)).toContain(
        `level=debug msg="Removing label" digest="${busybox.manifest.digest}" label=containerd.io/gc.ref.content.l.0`,
      );
      expect(pruned.berth.code).toBe(0);
    });

    it("images tag makes each target, refusing a taken one unless --force", async () => {
      for (const args of [
        ["images", "tag", ref, "example.com/t:1", "example.com/t:2"],
        ["images", "tag", ref, "example.com/t:1"],
        ["images", "tag", "--force", ref, "example.com/t:1"],
        ["images", "tag", "nope:1", "x:1"],
        ["images", "tag", ref],
      ]) {
        const tagged = await both(args);
        expect([tagged.berth.stdout, tagged.berth.stderr, tagged.berth.code]).toEqual([tagged.stock.stdout, tagged.stock.stderr, tagged.stock.code]);
      }
      const listed = await both(["images", "ls"]);
      expect(listed.berth.stdout).toBe(listed.stock.stdout);
      expect(listed.berth.stdout).toMatch(/^example\.com\/t:2 /m);
    });

    it("images convert makes the same uncompressed, single-platform and OCI images as stock ctr", async () => {
      await both(["images", "pull", "--plain-http", multiRef]);
      // A Docker-typed copy of busybox, to convert to OCI media types.
      const client = await Client.connect({ address: daemon.address });
      try {
        for (const namespace of ["berth", "stock"]) {
          // Under a lease: a collection may run between storing the manifest and naming the image.
          await withLease(
            client,
            async (context) => {
              const docker = JSON.stringify({
                schemaVersion: 2,
                mediaType: "application/vnd.docker.distribution.manifest.v2+json",
                config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: busybox.config.digest, size: busybox.config.size },
                layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: busybox.layers[0]!.digest, size: busybox.layers[0]!.size }],
              });
              const labels = { "containerd.io/gc.ref.content.config": busybox.config.digest, "containerd.io/gc.ref.content.l.0": busybox.layers[0]!.digest };
              const written = await writeBlob(client.content, context, "docker-manifest", Buffer.from(docker), { labels });
              await client.images.create(context, {
                name: "example.com/docker:1",
                labels: {},
                target: { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: written.digest, size: written.size, annotations: {} },
              });
            },
            namespace,
          );
        }
      } finally {
        client.close();
      }
      for (const args of [
        ["--uncompress", ref, "example.com/c:u"],
        ["--platform", "linux/amd64", multiRef, "example.com/c:m"],
        ["--uncompress", "--platform", "linux/amd64", multiRef, "example.com/c:mu"],
        ["--oci", "example.com/docker:1", "example.com/c:oci"],
        ["--oci", "--uncompress", "example.com/docker:1", "example.com/c:ociu"],
        ["--all-platforms", multiRef, "example.com/c:all"],
        ["nope:1", "example.com/c:x"],
        [ref],
      ]) {
        const converted = await both(["images", "convert", ...args]);
        expect([converted.berth.stdout, converted.berth.stderr, converted.berth.code]).toEqual([
          converted.stock.stdout,
          converted.stock.stderr,
          converted.stock.code,
        ]);
      }
      const listed = await both(["images", "ls"]);
      expect(listed.berth.stdout).toBe(listed.stock.stdout);
      expect(listed.berth.stdout).toMatch(/^example\.com\/c:oci +application\/vnd\.oci\.image\.manifest\.v1\+json /m);
      const content = await both(["content", "ls"]);
      const digestsAndLabels = (text: string) =>
        text
          .split("\n")
          .slice(1)
          // ctr pads its columns with tabs to the widest cell: an AGE of "2 seconds" beside "1 second" takes one more.
          .map((line) => line.split(/\t+/))
          .map(
            ([digest, size, , labels]) =>
              `${digest} ${size} ${(labels ?? "")
                .split(",")
                .filter((l) => !l.startsWith("containerd.io/distribution.source"))
                .sort()
                .join(",")}`,
          )
          .sort();
      expect(digestsAndLabels(content.berth.stdout)).toEqual(digestsAndLabels(content.stock.stdout));
    });

    it("snapshots unpack and snapshots diff as stock ctr", async () => {
      const unpacked = await both(["snapshots", "unpack", busybox.manifest.digest]);
      expect(unpacked.berth.stdout).toBe(`unpacking ${busybox.manifest.digest} (${busybox.manifest.mediaType})...done\n`);
      expect([unpacked.stock.stdout, unpacked.berth.code]).toEqual([unpacked.berth.stdout, 0]);
      const missing = await both(["snapshots", "unpack", busybox.config.digest]);
      expect([missing.berth.stderr, missing.berth.code]).toEqual([missing.stock.stderr, missing.stock.code]);

      const chainId = busybox.diffIds[0]!;
      for (const tool of ["berth", "stock"] as const) expect((await tools[tool](["snapshots", "prepare", "work", chainId])).code).toBe(0);
      // The same layer bytes: the image's own layer, made again from the committed snapshot against nothing.
      const whole = { berth: binary("berth", ["snapshots", "diff", chainId]), stock: binary("stock", ["snapshots", "diff", chainId]) };
      expect(whole.berth.status).toBe(0);
      expect(Buffer.compare(whole.berth.stdout, whole.stock.stdout)).toBe(0);
      expect(whole.berth.stdout.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      const plainDiff = (tool: "berth" | "stock") => [
        "snapshots",
        "diff",
        "--media-type",
        "application/vnd.oci.image.layer.v1.tar",
        "--ref",
        `diff-${tool}`,
        "work",
        chainId,
      ];
      const plain = { berth: binary("berth", plainDiff("berth")), stock: binary("stock", plainDiff("stock")) };
      expect(Buffer.compare(plain.berth.stdout, plain.stock.stdout)).toBe(0);
      const keep = ["snapshots", "diff", "--keep", "--label", "team=berth", "--media-type", "application/vnd.oci.image.layer.v1.tar", chainId];
      const kept = { berth: binary("berth", keep), stock: binary("stock", keep) };
      expect(kept.berth.status).toBe(0);
      expect(Buffer.compare(kept.berth.stdout, kept.stock.stdout)).toBe(0);
      // The kept layer's labels as each daemon recorded them for each CLI (gc.root's time aside).
      const labelsOf = (listing: string) =>
        listing
          .split("\n")
          .filter((line) => line.startsWith(busybox.diffIds[0]!))
          .map((line) =>
            line
              .split("\t")
              .at(-1)!
              .replace(/gc\.root=[^,]+/, "gc.root=<time>"),
          );
      const content = await both(["content", "ls"]);
      expect(labelsOf(content.berth.stdout)).toEqual(labelsOf(content.stock.stdout));
      const bad = await both(["snapshots", "diff", "nope"]);
      expect([bad.berth.stderr, bad.berth.code]).toEqual([bad.stock.stderr, bad.stock.code]);
    });

    it("install copies the image's bin/ as stock ctr does, refusing to replace without --replace", async () => {
      const trees: Record<string, string[]> = {};
      for (const tool of ["berth", "stock"] as const) {
        const path = join(scratch, `install-${tool}`);
        mkdirSync(path);
        const installed = await tools[tool](["install", "--path", path, ref]);
        expect([installed.stdout, installed.stderr, installed.code]).toEqual(["", "", 0]);
        const again = await tools[tool](["install", "--path", path, ref]);
        expect([again.stderr, again.code]).toEqual([`ctr: cannot replace bin/busybox in ${path}\n`, 1]);
        expect((await tools[tool](["install", "--replace", "--libs", "--path", path, ref])).code).toBe(0);
        trees[tool] = tree(path).map((line) => line.replace(/^(\/bin) 40755 0:0 /, "$1 dir "));
      }
      expect(trees.berth).toEqual(trees.stock);
      expect(trees.berth).toContain(`/bin/sh 120777 0:0 ${lstatSync(join(scratch, "install-stock/bin/sh")).mtimeMs} -> busybox`);
      const missing = join(scratch, "no-such-dir");
      const nowhere = { berth: await tools.berth(["install", "--path", missing, ref]), stock: await tools.stock(["install", "--path", missing, ref]) };
      expect([nowhere.berth.stderr, nowhere.berth.code]).toEqual([nowhere.stock.stderr, 1]);
      // Without --path: the daemon's opt plugin's path, which berthd does not have.
      const noPath = await tools.berth(["install", ref]);
      if (daemon.kind === "berthd") {
        expect([noPath.stderr, noPath.code]).toEqual(["ctr: opt service not enabled\n", 1]);
        expect((await tools.stock(["install", ref])).stderr).toBe(noPath.stderr);
      } else {
        expect(noPath.code).toBe(0);
        expect(lstatSync(join(daemon.root, "..", "opt", "bin", "busybox")).isFile()).toBe(true);
      }
    });

    it("content prune references drops layer references and the layers go with the next collection", async () => {
      const before = await both(["content", "ls", "-q"]);
      expect(before.berth.stdout).toContain(busybox.layers[0]!.digest);
      const pruned = await both(["content", "prune", "references"]);
      expect([pruned.berth.stdout, pruned.berth.stderr, pruned.berth.code]).toEqual([pruned.stock.stdout, pruned.stock.stderr, 0]);
      const after = await both(["content", "ls", "-q"]);
      expect(after.berth.stdout).toBe(after.stock.stdout);
      expect(after.berth.stdout).not.toContain(busybox.layers[0]!.digest);
      expect(after.berth.stdout).toContain(busybox.manifest.digest);
      const labels = await both(["content", "ls"]);
      expect(labels.berth.stdout).not.toContain("gc.ref.content.l.");
    });
  });
}

describe("Berth's ctr oci spec", () => {
  it.skipIf(!stockCtr)("prints stock ctr's default spec byte for byte, in any namespace", async () => {
    for (const namespace of ["default", "other"]) {
      const env = { PATH: process.env.PATH, CONTAINERD_NAMESPACE: namespace };
      const [ours, theirs] = [await runCommand(process.execPath, [berthCtr, "oci", "spec"], { env }), await runCommand(stockCtr!, ["oci", "spec"], { env })];
      expect(ours.code).toBe(0);
      expect(ours.stdout).toBe(theirs.stdout);
      expect(ours.stdout).toContain(`"cgroupsPath": "/${namespace}"`);
    }
  });
});
