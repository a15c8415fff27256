import { fileURLToPath } from "node:url";
import { type RunningDaemon, runCommand, startBerthd, startStockContainerd, stockContainerdInstalled, stockCtr } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));

const daemons: { name: string; start: () => Promise<RunningDaemon | undefined> }[] = [
  { name: "berthd", start: () => startBerthd() },
  { name: "stock containerd", start: startStockContainerd },
];

for (const { name, start } of daemons) {
  describe.skipIf(!stockContainerdInstalled)(`Berth's ctr snapshots against ${name}, beside stock ctr`, () => {
    let daemon: RunningDaemon;
    const berth = (...args: string[]) =>
      runCommand(process.execPath, [berthCtr, "--address", daemon.address, "snapshots", ...args], { env: { PATH: process.env.PATH } });
    const stock = (...args: string[]) => runCommand(stockCtr!, ["--address", daemon.address, "snapshots", ...args]);
    beforeAll(async () => {
      daemon = (await start())!;
      for (const step of [
        ["prepare", "k1"],
        ["commit", "c1", "k1"],
        ["prepare", "k2", "c1"],
        ["view", "v1", "c1"],
      ]) {
        expect((await berth(...step)).code).toBe(0);
      }
    });
    afterAll(async () => {
      await daemon?.cleanup();
    });

    for (const command of [
      ["ls"],
      ["tree"],
      ["usage"],
      ["usage", "k2"],
      ["mounts", "/tmp/somewhere", "k2"],
      ["mounts", "/tmp/somewhere", "v1"],
      ["info", "c1"],
    ]) {
      it(`prints what stock ctr prints for 'snapshots ${command.join(" ")}'`, async () => {
        const [ours, theirs] = [await berth(...command), await stock(...command)];
        expect(ours.code).toBe(0);
        expect(ours.stdout).toBe(theirs.stdout);
      });
    }

    it("refuses to remove a snapshot with children, as stock ctr reports it", async () => {
      const [ours, theirs] = [await berth("rm", "c1"), await stock("rm", "c1")];
      expect(ours.code).toBe(1);
      expect(theirs.code).toBe(1);
      expect(ours.stderr).toContain("failed precondition");
    });

    it("labels and removes snapshots", async () => {
      expect((await berth("label", "k2", "team=berth")).stdout).toMatch(/(^|,)team=berth(,|\n)/);
      // stock ctr 1.6 takes no filters here; Berth's does
      expect((await berth("ls", "labels.team==berth")).stdout).toMatch(/^KEY +PARENT +KIND +\nk2 +c1 +Active +\n$/);
      expect((await berth("rm", "k2", "v1")).code).toBe(0);
      expect((await berth("rm", "c1")).code).toBe(0);
      expect((await stock("ls")).stdout).toBe("KEY PARENT KIND \n");
    });
  });
}
