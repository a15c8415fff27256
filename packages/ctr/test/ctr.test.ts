import { fileURLToPath } from "node:url";
import { type RunningDaemon, runCommand, startBerthd, startStockContainerd, stockContainerdInstalled } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));

/** Berth's ctr, as a user runs it, with a clean environment apart from what the test sets. */
const ctr = (address: string, ...args: string[]) =>
  runCommand(process.execPath, [berthCtr, "--address", address, ...args], { env: { PATH: process.env.PATH } });

const daemons: { name: string; start: () => Promise<RunningDaemon | undefined> }[] = [
  { name: "berthd", start: () => startBerthd() },
  { name: "stock containerd", start: startStockContainerd },
];

for (const { name, start } of daemons) {
  describe.skipIf(name !== "berthd" && !stockContainerdInstalled)(`Berth's ctr against ${name}`, () => {
    let daemon: RunningDaemon;
    beforeAll(async () => {
      daemon = (await start())!;
    });
    afterAll(async () => {
      await daemon?.cleanup();
    });

    it("creates, labels, lists and removes namespaces, printing what stock ctr prints", async () => {
      expect(await ctr(daemon.address, "namespaces", "create", "foo", "mylabel=bar")).toMatchObject({ code: 0, stdout: "" });
      expect((await ctr(daemon.address, "namespaces", "ls")).stdout).toBe("NAME LABELS      \nfoo  mylabel=bar \n");
      expect((await ctr(daemon.address, "ns", "label", "foo", "a=b")).code).toBe(0);
      expect((await ctr(daemon.address, "namespace", "list")).stdout).toBe("NAME LABELS          \nfoo  a=b,mylabel=bar \n");
      expect((await ctr(daemon.address, "namespaces", "label", "foo", "a=")).code).toBe(0);
      expect((await ctr(daemon.address, "namespaces", "ls", "-q")).stdout).toBe("foo\n");
      expect((await ctr(daemon.address, "namespaces", "ls")).stdout).toBe("NAME LABELS      \nfoo  mylabel=bar \n");
      expect(await ctr(daemon.address, "namespaces", "rm", "foo", "nothere")).toMatchObject({ code: 0, stdout: "foo\nnothere\n" });
      expect((await ctr(daemon.address, "namespaces", "ls", "-q")).stdout).toBe("");
    });

    it("honours CONTAINERD_ADDRESS and CONTAINERD_NAMESPACE, and global options before the command", async () => {
      const env = { PATH: process.env.PATH, CONTAINERD_ADDRESS: daemon.address, CONTAINERD_NAMESPACE: "envns" };
      const viaEnv = await runCommand(process.execPath, [berthCtr, "version"], { env });
      expect(viaEnv.code).toBe(0);
      expect(viaEnv.stdout).toMatch(/Server:\n {2}Version: /);
      const beforeCommand = await runCommand(process.execPath, [berthCtr, "-a", daemon.address, "-n", "other", "namespaces", "create", "viaflags"], {
        env: { PATH: process.env.PATH },
      });
      expect(beforeCommand.code).toBe(0);
      expect((await ctr(daemon.address, "namespaces", "ls", "-q")).stdout).toBe("viaflags\n");
      await ctr(daemon.address, "namespaces", "rm", "viaflags");
    });

    it("reports errors as ctr does: 'ctr: <message>' and exit status 1", async () => {
      const bad = await ctr(daemon.address, "namespaces", "create", "bad_name!");
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^ctr: .*"bad_name!" must match .*: invalid argument\n$/);
      const unreachable = await runCommand(process.execPath, [berthCtr, "--address", "/nonexistent/berthd.sock", "--connect-timeout", "1s", "version"]);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toContain("ctr: failed to dial");
    });

    it("lists plugins with their status, and filters them", async () => {
      const listed = await ctr(daemon.address, "plugins", "ls");
      const lines = listed.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^TYPE {4,}ID {4,}PLATFORMS {4,}STATUS {4}$/);
      expect(lines).toContainEqual(expect.stringMatching(/^io\.containerd\.grpc\.v1 +namespaces +- +ok +$/));
      const filtered = await ctr(daemon.address, "plugin", "ls", "-q", "type==io.containerd.grpc.v1,id==version");
      expect(filtered.stdout).toBe("version\n");
    });

    it("shows namespace events live, narrowed by filters", async () => {
      const { spawn } = await import("node:child_process");
      const watch = (...filters: string[]) => {
        const child = spawn(process.execPath, [berthCtr, "--address", daemon.address, "events", ...filters]);
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => (output += chunk));
        return { child, lines: () => output.split("\n").filter(Boolean) };
      };
      const all = watch();
      // containerd 1.6 only parses the quoted form of a value starting with "/"; Berth takes both.
      const deletes = watch(name === "berthd" ? "topic==/namespaces/delete,namespace==evns" : 'topic=="/namespaces/delete",namespace==evns');
      const regexp = watch("topic~=/namespaces/.+");
      try {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await ctr(daemon.address, "namespaces", "create", "evns");
        await ctr(daemon.address, "namespaces", "rm", "evns");
        await new Promise((resolve) => setTimeout(resolve, 500));
        const shape = (line: string) => line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC /, "<time> ");
        expect(all.lines().map(shape)).toEqual(['<time> default /namespaces/create {"name":"evns"}', '<time> evns /namespaces/delete {"name":"evns"}']);
        expect(deletes.lines().map(shape)).toEqual(['<time> evns /namespaces/delete {"name":"evns"}']);
        if (name === "berthd") expect(regexp.lines()).toHaveLength(2); // containerd 1.6 cannot parse this form
      } finally {
        for (const { child } of [all, deletes, regexp]) child.kill("SIGKILL");
      }
    });
  });
}
