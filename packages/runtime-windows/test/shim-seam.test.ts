// The runtime conformance suite on the shared shim v2 core with the Windows seam, driving Berth's
// own shim as a real shim v2 server, named pipes mapped to unix sockets: start, the reversed log
// pipe, a daemon restart and reconnect, a killed shim cleaned up with /tasks/exit.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { isKind, packJson } from "@berth/api";
import { unmountAll } from "@berth/mount";
import { describeRuntimeConformance } from "@berth/runtime/testsuite";
import { berthShimPath } from "@berth/runtime-linux";
import { shimLogPipeName, windowsShimPlatform } from "@berth/runtime-windows/shim";
import { type ShimManagerFixture, shimManagerFixture, waitUntil } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

interface WindowsSeamFixture extends ShimManagerFixture {
  readonly shimLog: string[];
  readonly pipes: string;
}

async function windowsSeamFixture(label: string): Promise<WindowsSeamFixture> {
  const shimLog: string[] = [];
  const fixture = await shimManagerFixture(label, (directory) => {
    const pipes = join(directory, "pipe");
    mkdirSync(pipes);
    // `\\.\pipe\<name>` is `<pipes>/<name>` here; Berth's shim is told where its log pipe is.
    const pipePath = (name: string) => join(pipes, name);
    return {
      shimBinary: berthShimPath,
      platform: windowsShimPlatform({
        pipePath,
        env: (bundle) => ({ BERTH_SHIM_LOG_PIPE: pipePath(shimLogPipeName(bundle.namespace, bundle.id)) }),
        unmountRootfs: (path) => unmountAll(path, { detach: true }),
      }),
      debug: true,
      logger: { debug: (fields) => void (typeof fields.shim === "string" && shimLog.push(fields.shim)), info: () => undefined, warn: () => undefined },
    };
  });
  return Object.assign(fixture, { shimLog, pipes: join(fixture.scratch, "pipe") });
}

describe("the shim v2 core with the Windows seam, driving Berth's shim over pipes mapped to unix sockets", () => {
  describeRuntimeConformance("ShimManager (Windows seam) + Berth's shim", () => windowsSeamFixture("runtime-winseam"));

  describe("the Windows rules", () => {
    let fixture: WindowsSeamFixture;
    const context = { namespace: "winrules" };
    const spec = (id: string) => packJson("types.containerd.io/opencontainers/runtime-spec/1/Spec", fixture.spec(id, ["sleep", "1000"]));
    const create = (id: string, runtime = "io.containerd.runc.v2") =>
      fixture.runtime.create(context, id, {
        spec: spec(id),
        rootfs: [{ type: "bind", source: fixture.rootfs, options: ["rbind", "rw"] }],
        io: { stdin: "", stdout: "", stderr: "", terminal: false },
        runtime,
      });

    beforeAll(async () => {
      fixture = await windowsSeamFixture("runtime-winrules");
    });
    afterAll(async () => {
      for (const task of await fixture.runtime.tasks(context)) {
        await task.kill(context, 9, false).catch(() => undefined);
        await task.wait(context);
        await fixture.runtime.delete(context, task.id);
      }
      await fixture.cleanup();
    });

    it("relays the shim's log through the pipe the shim serves and the daemon dials", async () => {
      await create("logged");
      expect(existsSync(join(fixture.pipes, "containerd-shim-winrules-logged-log")), "the shim serves its log pipe").toBe(true);
      await waitUntil("the shim's line about the task", async () => fixture.shimLog.some((line) => /level=debug msg="task created" id=logged/.test(line)));
      const second = fixture.shimLog.length;
      // The same shim serves the namespace's next container: no log pipe of its own, and that is no error.
      await create("unlogged");
      expect(existsSync(join(fixture.pipes, "containerd-shim-winrules-unlogged-log"))).toBe(false);
      await waitUntil("its line about the second task", async () => fixture.shimLog.slice(second).some((line) => /task created" id=unlogged/.test(line)));
    });

    it("looks for containerd-shim-<name>-<version>.exe", async () => {
      const error = await create("nobinary", "io.containerd.nosuch.v1").catch((e: unknown) => e);
      expect(isKind(error, "NotFound")).toBe(true);
      expect(String(error)).toContain("containerd-shim-nosuch-v1.exe");
    });

    it("retries a pipe that is not there yet after start, for a while, and never on reconnect", async () => {
      const platform = fixture.options.platform;
      const missing = join(fixture.pipes, "never");
      const start = Date.now();
      const late = await platform.dial(missing, 200, "start").catch((e: unknown) => e);
      expect(String(late)).toContain("pipe not found before timeout");
      expect(Date.now() - start).toBeGreaterThanOrEqual(200);
      const once = await platform.dial(missing, 200, "reconnect").catch((e: unknown) => e);
      expect(isKind(once, "Unavailable")).toBe(true);
      expect(String(once)).not.toContain("before timeout");
    });
  });
});
