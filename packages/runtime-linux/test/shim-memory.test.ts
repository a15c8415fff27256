// The memory Berth's shim costs per running container: one server process serves every container
// of a namespace, so its size is shared (containerd-shim-runc-v2 takes one process, ~10 MB, each).
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { berthShimPath } from "@berth/runtime-linux";
import { stockContainerdInstalled } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type DaemonSetup, residentBytes, shimServers, startDaemonSetup } from "./daemon-setup.js";

const namespace = `berth-test-shim-memory-${process.pid}`;
const containers = 20;
let setup: DaemonSetup;

describe.skipIf(!stockContainerdInstalled)("Berth's shim memory", () => {
  beforeAll(async () => {
    setup = await startDaemonSetup("containerd", namespace);
    mkdirSync(setup.session.fifoDir, { recursive: true });
  });
  afterAll(async () => {
    await setup?.cleanup();
  });

  test(`with ${containers} sleeping containers the shim takes less than 10 MB RSS per container`, { timeout: 180_000 }, async () => {
    const runDetached = (id: string) => setup.ctr(["run", "-d", "--runtime", berthShimPath, ...setup.session.runFlags, setup.image, id, "sleep", "1000"]);
    expect((await runDetached("m0")).code).toBe(0);
    const [shim] = shimServers(setup.daemon.address);
    const one = residentBytes(shim!);
    for (let i = 1; i < containers; i++) expect((await runDetached(`m${i}`)).code).toBe(0);
    expect(shimServers(setup.daemon.address)).toEqual([shim]);
    // runc's state is under the daemon's state directory, where the cleanup looks for it.
    expect(readdirSync(join(setup.session.runcRoot, namespace))).toHaveLength(containers);
    const many = residentBytes(shim!);
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    console.log(`shim RSS: ${mb(one)} MB with 1 container, ${mb(many)} MB with ${containers} (${mb(many / containers)} MB each)`);
    expect(many / containers).toBeLessThan(10 * 2 ** 20);
    // What one more container costs the server.
    expect((many - one) / (containers - 1)).toBeLessThan(2 ** 20);
  });
});
