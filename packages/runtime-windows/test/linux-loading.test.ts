import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));

/**
 * Runs `script` in a fresh Node and returns what it printed: the modules resolved (through a
 * resolve hook) and the shared objects mapped into the process (/proc/self/maps), as JSON.
 */
function loadedBy(script: string): { modules: string[]; mapped: string[] } {
  const program = `
    import { registerHooks } from "node:module";
    import { readFileSync } from "node:fs";
    const modules = [];
    registerHooks({ resolve(specifier, context, next) { const found = next(specifier, context); modules.push(found.url); return found; } });
    ${script}
    const mapped = [...new Set(readFileSync("/proc/self/maps", "utf8").split("\\n").map((line) => line.split(/\\s+/)[5]).filter((path) => path && /\\.(node|so|dll)/.test(path)))];
    console.log(JSON.stringify({ modules, mapped }));
  `;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", program], { cwd: packageRoot, encoding: "utf8" }));
}

const mentionsKoffi = (paths: readonly string[]) => paths.filter((path) => /koffi|\.dll/i.test(path));

describe("on Linux", () => {
  it("loading @berth/runtime-windows (and its /spec) loads neither koffi nor any DLL", () => {
    const { modules, mapped } = loadedBy(`
      const windows = await import("@berth/runtime-windows");
      await import("@berth/runtime-windows/spec");
      if (typeof windows.WindowsSnapshotter !== "function") throw new Error("not loaded");
      await windows.loadWin32LayerOps().then(() => { throw new Error("loaded on Linux"); }, (error) => { if (error.kind !== "Unavailable") throw error; });
    `);
    expect(
      modules.some((url) => url.includes("runtime-windows/dist/index.js")),
      "the package was loaded",
    ).toBe(true);
    expect(mentionsKoffi(modules)).toEqual([]);
    expect(mentionsKoffi(mapped)).toEqual([]);
  });

  it("loading @berth/runtime-windows/plugins (what berthd registers) loads none of the layer, shim or win32 code", () => {
    const { modules } = loadedBy(`
      const plugins = await import("@berth/runtime-windows/plugins");
      if (plugins.windowsSnapshotterPlugin.id !== "windows") throw new Error("not loaded");
    `);
    expect(modules.some((url) => url.endsWith("runtime-windows/dist/plugins.js"))).toBe(true);
    expect(modules.filter((url) => /runtime-windows\/dist\/(index\.js|layers\/|shim\/|win32)/.test(url))).toEqual([]);
    expect(modules.filter((url) => /tar-stream|koffi/.test(url))).toEqual([]);
  });

  it("would see koffi if src/win32/ were loaded (the check above can fail)", () => {
    const { modules, mapped } = loadedBy(`await import("./dist/win32/koffi.js");`);
    expect(mentionsKoffi(modules).length).toBeGreaterThan(0);
    expect(mentionsKoffi(mapped).length).toBeGreaterThan(0);
  });

  it("only src/win32/ imports koffi", () => {
    const sources = readdirSync(join(packageRoot, "src"), { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts"));
    const importers = sources.filter((file) =>
      /from\s+["']koffi["']|import\(\s*["']koffi["']\s*\)|require\(\s*["']koffi["']\s*\)/.test(readFileSync(join(packageRoot, "src", file), "utf8")),
    );
    expect(importers.length).toBeGreaterThan(0);
    for (const file of importers) expect(relative("win32", file).startsWith(".."), `${file} imports koffi outside src/win32/`).toBe(false);
    // And nothing outside src/win32/ imports src/win32/ statically: only the lazy loader does, dynamically.
    const staticWin32 = sources.filter(
      (file) => !file.startsWith("win32") && /from\s+["']\.\.?\/(?:.*\/)?win32\//.test(readFileSync(join(packageRoot, "src", file), "utf8")),
    );
    expect(staticWin32).toEqual([]);
  });
});
