import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@berth/client";
import { type RunningDaemon, type TestImage, ociArchive, runCommand, startBerthd, tar } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** A one-layer Windows image (config os windows): nanoserver's shape, with an escaped Cmd as Docker writes it. */
function windowsImage(): TestImage {
  const blobs = new Map<string, Uint8Array>();
  const add = (mediaType: string, bytes: Uint8Array) => {
    blobs.set(sha256(bytes), bytes);
    return { mediaType, digest: sha256(bytes), size: bytes.byteLength };
  };
  const layerTar = tar([
    { path: "Files", type: "dir" },
    { path: "Files/hello.txt", type: "file", content: "hi" },
  ]);
  const layer = add("application/vnd.oci.image.layer.v1.tar", layerTar);
  const config = add(
    "application/vnd.oci.image.config.v1+json",
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "windows",
        "os.version": "10.0.20348.2113",
        config: { Env: ["PATH=C:\\Windows\\system32;C:\\Windows"], Cmd: ['cmd /S /C "echo hi"'], ArgsEscaped: true, User: "ContainerUser", WorkingDir: "C:\\" },
        rootfs: { type: "layers", diff_ids: [sha256(layerTar)] },
      }),
    ),
  );
  const manifest = add(
    "application/vnd.oci.image.manifest.v1+json",
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [layer] })),
  );
  return { manifest, manifests: [manifest], config, layers: [layer], diffIds: [sha256(layerTar)], blobs, pushOrder: [layer, config, manifest] };
}

describe("Berth's ctr with a Windows image", () => {
  let daemon: RunningDaemon;
  const ref = "mcr.example/windows/nanoserver:test";
  const ctr = (...args: string[]) => runCommand(process.execPath, [berthCtr, "--address", daemon.address, ...args], { env: { PATH: process.env.PATH } });

  beforeAll(async () => {
    daemon = await startBerthd();
    const archive = join(daemon.root, "..", "windows.tar");
    writeFileSync(archive, ociArchive(windowsImage(), ref));
    const imported = await ctr("images", "import", "--no-unpack", archive);
    expect(imported.code, imported.stderr).toBe(0);
  });
  afterAll(async () => {
    await daemon?.cleanup();
  });

  const specOf = async (id: string) => {
    const client = await Client.connect({ address: daemon.address });
    try {
      const container = await client.containers.get(client.context(), id);
      return { spec: Buffer.from(container.spec!.value).toString("utf8"), runtime: container.runtime?.name };
    } finally {
      client.close();
    }
  };

  it("makes containerd's Windows spec (a commandLine from the escaped Cmd) and picks runhcs", async () => {
    const created = await ctr("containers", "create", "--snapshotter", "native", "--env", "FOO=1", "--label", "a=b", ref, "w1");
    expect(created.code, created.stderr).toBe(0);
    const { spec, runtime } = await specOf("w1");
    expect(spec).toBe(
      '{"ociVersion":"1.0.2-dev","process":{"user":{"uid":0,"gid":0,"username":"ContainerUser"},"commandLine":"cmd /S /C \\"echo hi\\"","env":["PATH=C:\\\\Windows\\\\system32;C:\\\\Windows","FOO=1"],"cwd":"C:\\\\"},"root":{"path":""},"annotations":{"a":"b"},"windows":{"layerFolders":null}}',
    );
    expect(runtime).toBe("io.containerd.runhcs.v1");
  });

  it("passes user args as args, and the Windows options", async () => {
    const created = await ctr(
      "containers",
      "create",
      "--snapshotter",
      "native",
      "--isolated",
      "--memory-limit",
      "536870912",
      "--cpu-count",
      "2",
      "--cwd",
      "C:\\work",
      ref,
      "w2",
      "ping",
      "-n",
      "1",
      "a b",
    );
    expect(created.code, created.stderr).toBe(0);
    const { spec } = await specOf("w2");
    expect(JSON.parse(spec)).toEqual({
      ociVersion: "1.0.2-dev",
      process: {
        user: { uid: 0, gid: 0, username: "ContainerUser" },
        args: ["ping", "-n", "1", "a b"],
        env: ["PATH=C:\\Windows\\system32;C:\\Windows"],
        cwd: "C:\\work",
      },
      root: { path: "" },
      windows: { layerFolders: null, resources: { memory: { limit: 536870912 }, cpu: { count: 2 } }, hyperv: {} },
    });
  });

  it("refuses host networking for a Windows container, as ctr does", async () => {
    const refused = await ctr("containers", "create", "--snapshotter", "native", "--net-host", ref, "w3");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("Cannot use host mode networking with Windows containers");
  });
});
