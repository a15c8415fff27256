import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kindOfFailure, useTempRoot } from "./fixtures.js";

// White-box: the one race of stale-lock takeover that no timing of public calls reproduces
// reliably, tested on the internal module through its built path.
const { removeStale } = (await import(new URL("../dist/ref-lock.js", import.meta.url).href)) as typeof import("../src/ref-lock.js");

describe("stale lock takeover", () => {
  const root = useTempRoot();

  it("removes the stale lock it judged", async () => {
    const lock = join(root(), "lock");
    writeFileSync(lock, "999999999 1 stale\n");
    await removeStale(lock, "999999999 1 stale\n", "ref");
    expect(existsSync(lock)).toBe(false);
    expect(readdirSync(root())).toEqual([]);
  });

  it("puts back a live lock that replaced the stale one in the meantime, and gives way", async () => {
    const lock = join(root(), "lock");
    const live = `${process.pid} 12345 fresh\n`;
    writeFileSync(lock, live); // another process took over between our read and our rename
    expect(await kindOfFailure(() => removeStale(lock, "999999999 1 stale\n", "ref"))).toBe("Unavailable");
    expect(readFileSync(lock, "utf8")).toBe(live);
    expect(readdirSync(root())).toEqual(["lock"]);
  });
});
