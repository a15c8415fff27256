import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type RunningDaemon, runCommand, startBerthd } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distBin } from "./helpers.js";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const recorder = fileURLToPath(new URL("../../ctr/test/record-loads.mjs", import.meta.url));
const bundle = pathToFileURL(join(packageRoot, "bundle/")).href;

describe("dist runs from its bundle", () => {
  let daemon: RunningDaemon;
  let scratch: string;
  let runs = 0;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "berth-test-dist-bundle-"));
    daemon = await startBerthd();
  });
  afterAll(async () => {
    await daemon?.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs dist, returning its result and every file URL it loaded. */
  async function distLoading(...args: string[]) {
    const record = join(scratch, `loads-${runs++}`);
    const result = await runCommand(process.execPath, ["--import", recorder, distBin, ...args], {
      env: { PATH: process.env.PATH, BERTH_RECORD_LOADS: record, XDG_CACHE_HOME: join(scratch, "cache") },
      timeoutMs: 30_000,
    });
    const files = readFileSync(record, "utf8")
      .split("\n")
      .filter((url) => url !== "" && !url.startsWith("node:"));
    return { ...result, files, commands: files.filter((url) => url.startsWith(`${bundle}commands/`)) };
  }

  it("loads the command run, from its own entry, and nothing from dist or node_modules", async () => {
    const listed = await distLoading("--address", daemon.address, "images", "ls");
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^REF +TYPE +DIGEST +SIZE/);
    expect(listed.commands).toEqual([`${bundle}commands/images/ls.js`]);
    expect(listed.files.filter((url) => !url.startsWith(bundle))).toEqual([pathToFileURL(distBin).href]);

    // A command dist's registry defines itself (a subclass of ctr's) loads with the registry, from the bundle too.
    const push = await distLoading("--address", daemon.address, "push");
    expect(push.stderr).toMatch(/Missing 1 required arg/);
    expect(push.commands).toEqual([`${bundle}commands/push.js`]);
    expect(push.files.filter((url) => !url.startsWith(bundle))).toEqual([pathToFileURL(distBin).href]);
  });
});
