import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mountPoints } from "@berth/mount";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  stockContainerdInstalled,
  stockCtr,
  testDirectory,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));

describe("Berth's ctr images pull against berthd", () => {
  let registry: RunningRegistry;
  let berthd: RunningDaemon;
  const image = buildBusyboxImage();
  beforeAll(async () => {
    registry = await startRegistry();
    berthd = await startBerthd();
    await pushTestImage(image, { url: registry.url, repository: "library/busybox", tag: "1.35" });
  });
  afterAll(async () => {
    await berthd?.cleanup();
    await registry?.stop();
  });

  it("pulls and unpacks an image that stock ctr then sees complete and unpacked", async () => {
    const ref = `${registry.host}/library/busybox:1.35`;
    const pulled = await runCommand(process.execPath, [berthCtr, "--address", berthd.address, "images", "pull", "--plain-http", ref], {
      env: { PATH: process.env.PATH },
    });
    expect(pulled.stderr).toBe("");
    expect(pulled.code).toBe(0);
    // Stock ctr's layout: the progress display, then an unpack line per platform and the time it took.
    expect(pulled.stdout).toMatch(new RegExp(`^${ref.replace(/[.:]/g, "\\$&")}: +resolved +\\|\\+{38}\\| *$`, "m"));
    expect(pulled.stdout).toMatch(new RegExp(`^layer-${image.layers[0]!.digest}: +done +\\|\\+{38}\\| *$`, "m"));
    expect(pulled.stdout).toMatch(new RegExp(`\nunpacking linux/amd64 ${image.manifest.digest}\\.\\.\\.\ndone: [0-9.]+(ms|s|µs)\t\n$`));
    const listed = await runCommand(process.execPath, [berthCtr, "--address", berthd.address, "images", "ls", "-q"], { env: { PATH: process.env.PATH } });
    expect(listed.stdout).toBe(`${ref}\n`);
    const berthChecked = await runCommand(process.execPath, [berthCtr, "--address", berthd.address, "images", "check"], { env: { PATH: process.env.PATH } });
    expect(berthChecked.stdout).toMatch(/complete \(2\/2\) .* true\t?\n$/);
    if (stockContainerdInstalled) {
      const checked = await runCommand(stockCtr!, ["--address", berthd.address, "images", "check"]);
      expect(checked.stdout).toMatch(/complete \(2\/2\) .* true\n$/);
      expect(berthChecked.stdout).toBe(checked.stdout);
    }
  });

  it("says which reference it cannot parse", async () => {
    const result = await runCommand(process.execPath, [berthCtr, "--address", berthd.address, "images", "pull", "busybox"], {
      env: { PATH: process.env.PATH },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ctr: .*busybox.*\n$/);
  });

  it.skipIf(!stockContainerdInstalled)("mounts and unmounts an image as stock ctr does", async () => {
    const ref = `${registry.host}/library/busybox:1.35`;
    const scratch = testDirectory("ctr-mount");
    try {
      const outputs: string[] = [];
      for (const [name, command] of [
        ["berth", [process.execPath, berthCtr]],
        ["stock", [stockCtr!]],
      ] as const) {
        const target = join(scratch, name);
        mkdirSync(target);
        const run = (args: string[]) =>
          runCommand(command[0], [...command.slice(1), "--address", berthd.address, ...args], { env: { PATH: process.env.PATH } });
        const mounted = await run(["images", "mount", ref, target]);
        expect(mounted.code, mounted.stderr).toBe(0);
        expect(statSync(join(target, "bin/busybox")).isFile()).toBe(true);
        outputs.push(mounted.stdout.replace(target, "<target>"));
        const unmounted = await run(["images", "unmount", "--rm", target]);
        expect(unmounted.stdout).toBe(`${target}\n`);
        expect(mountPoints()).not.toContain(target);
      }
      expect(outputs[0]).toBe(outputs[1]);
      expect(outputs[0]).toBe(`${image.diffIds[0]}\n<target>\n`);
    } finally {
      for (const point of mountPoints().filter((p) => p.startsWith(scratch))) await runCommand("umount", ["-l", point]);
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
