import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const packagesDir = join(packageRoot, "..");

/** Runs `script` in a fresh Node and returns the shared objects then mapped into the process. */
function mappedAfter(script: string): string[] {
  const program = `
    import { readFileSync } from "node:fs";
    ${script}
    const mapped = readFileSync("/proc/self/maps", "utf8").split("\\n").map((line) => line.split(/\\s+/)[5]).filter((path) => path && /\\.node\\b/.test(path));
    console.log(JSON.stringify([...new Set(mapped)]));
  `;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", program], { cwd: packageRoot, encoding: "utf8" }));
}

const koffiIn = (paths: readonly string[]) => paths.filter((path) => /koffi/i.test(path));

describe("loading", () => {
  it("importing @berth/libc (and the packages over it) maps no koffi; the first call does", () => {
    expect(koffiIn(mappedAfter(`await import("@berth/libc"); await import("@berth/mount"); await import("@berth/ttrpc");`))).toEqual([]);
    const called = mappedAfter(
      `const { SyscallError, mkfifo } = await import("@berth/libc"); try { mkfifo("/"); } catch (error) { if (!(error instanceof SyscallError)) throw error; }`,
    );
    expect(koffiIn(called).length).toBeGreaterThan(0);
  });

  it("only packages/libc/src and packages/runtime-windows/src/win32 import koffi", () => {
    // `from "koffi"`, or "koffi" as the one argument of import(), require() or createRequire(…)().
    const importsKoffi = /from\s+["']koffi["']|\(\s*["']koffi["']\s*\)/;
    const importers: string[] = [];
    for (const name of readdirSync(packagesDir)) {
      const src = join(packagesDir, name, "src");
      let files: string[];
      try {
        files = readdirSync(src, { recursive: true, encoding: "utf8" });
      } catch {
        continue;
      }
      for (const file of files) {
        if (/\.[cm]?[jt]sx?$/.test(file) && importsKoffi.test(readFileSync(join(src, file), "utf8"))) importers.push(relative(packagesDir, join(src, file)));
      }
    }
    expect(importers).toContain(join("libc", "src", "libc.ts"));
    expect(importers.filter((file) => !file.startsWith(join("libc", "src") + "/") && !file.startsWith(join("runtime-windows", "src", "win32") + "/"))).toEqual(
      [],
    );
  });
});
