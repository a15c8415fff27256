import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { testDirectory } from "@berth/testkit";
import { afterEach, describe, expect, it } from "vitest";

// The guardrails `.ci/run` runs (`npm run lint|cycles|format:check|typecheck`), each run with the repository's own
// configuration in a scratch workspace of two packages, so that nothing planted here can reach the real tree.
const repo = fileURLToPath(new URL("../../..", import.meta.url));
const configs = ["eslint.config.js", ".prettierrc.json", ".prettierignore", "tsconfig.base.json", "tsconfig.json"];

const cleanFiles: Record<string, string> = {
  "packages/lib/package.json": JSON.stringify({ name: "@berth/lib", version: "0.0.0", type: "module" }, null, 2) + "\n",
  "packages/lib/src/index.ts": 'export { twice } from "./twice.js";\n',
  "packages/lib/src/twice.ts": "export const twice = (n: number): number => n * 2;\n",
  "packages/lib/test/twice.test.ts": 'import { twice } from "../src/twice.js";\n\nexport const four: number = twice(2);\n',
  "packages/other/package.json": JSON.stringify({ name: "@berth/other", version: "0.0.0", type: "module" }, null, 2) + "\n",
  "packages/other/src/index.ts": 'export const other = "other";\n',
};

let workspaces: string[] = [];
afterEach(() => {
  for (const workspace of workspaces) rmSync(workspace, { recursive: true, force: true });
  workspaces = [];
});

/** A workspace with the repository's configs and scripts, its node_modules entries linked to the repository's. */
function workspace(files: Record<string, string> = {}): string {
  const root = testDirectory("guardrails");
  workspaces.push(root);
  for (const config of configs) copyFileSync(join(repo, config), join(root, config));
  const { scripts } = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts: Record<string, string> };
  // `typecheck` builds the packages first; the scratch packages have nothing to build, so only the check runs.
  const typecheck = scripts.typecheck!.split("&&").at(-1)!.trim();
  writeFileSync(
    join(root, "package.json"),
    JSON.stringify({ name: "guardrails", private: true, type: "module", scripts: { ...scripts, typecheck } }, null, 2) + "\n",
  );
  // Entry by entry, so that caches the tools write (node_modules/.cache) stay in the workspace.
  mkdirSync(join(root, "node_modules"));
  for (const entry of readdirSync(join(repo, "node_modules"))) {
    if (entry !== ".cache") symlinkSync(join(repo, "node_modules", entry), join(root, "node_modules", entry));
  }
  for (const [path, text] of Object.entries({ ...cleanFiles, ...files })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** `npm run <script>` in `cwd`: its exit code and everything it printed. */
function npmRun(cwd: string, script: string, ...args: string[]): Promise<{ code: number; stdout: string; output: string }> {
  return new Promise((resolve) => {
    execFile("npm", ["run", "--silent", script, ...(args.length ? ["--", ...args] : [])], { cwd, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, output: stdout + stderr });
    });
  });
}

describe("guardrails (npm run lint, cycles, format:check, typecheck)", { timeout: 180_000 }, () => {
  it("pass on a clean workspace, so each failure below is the planted file's", async () => {
    const root = workspace();
    for (const script of ["lint", "cycles", "format:check", "typecheck"]) {
      const { code, output } = await npmRun(root, script);
      expect(code, `${script}: ${output}`).toBe(0);
    }
  });

  it("lint fails on deep imports, relative imports into another package, default exports, `export *` and a library importing a program", async () => {
    const planted: Record<string, string[]> = {
      "packages/lib/src/deep-dist.ts": ["no-restricted-imports"],
      "packages/lib/src/deep-src.ts": ["no-restricted-imports"],
      "packages/lib/src/relative.ts": ["import-x/no-relative-packages"],
      "packages/lib/src/default-export.ts": ["import-x/no-default-export"],
      "packages/lib/src/export-all.ts": ["no-restricted-syntax"],
      "packages/lib/src/program.ts": ["no-restricted-imports"],
      "packages/lib/src/export-as.ts": [],
    };
    const root = workspace({
      "packages/lib/src/deep-dist.ts": 'import { other } from "@berth/other/dist/index.js";\n\nexport const a = other;\n',
      "packages/lib/src/deep-src.ts": 'import { other } from "@berth/other/src/index.js";\n\nexport const a = other;\n',
      "packages/lib/src/relative.ts": 'import { other } from "../../other/src/index.js";\n\nexport const a = other;\n',
      "packages/lib/src/default-export.ts": "export default 1;\n",
      "packages/lib/src/export-all.ts": 'export * from "./twice.js";\n',
      "packages/lib/src/program.ts": 'import { main } from "@berth/daemon";\n\nexport const a = main;\n',
      "packages/lib/src/export-as.ts": 'export * as twice from "./twice.js";\n',
    });
    const { code, stdout, output } = await npmRun(root, "lint", "--format", "json");
    expect(code, output).not.toBe(0);
    const results = JSON.parse(stdout) as { filePath: string; messages: { ruleId: string | null }[] }[];
    const found = Object.fromEntries(results.map(({ filePath, messages }) => [filePath.slice(root.length + 1), messages.map(({ ruleId }) => ruleId)]));
    expect(found).toMatchObject(planted);
    expect(Object.entries(found).filter(([path, rules]) => !(path in planted) && rules.length > 0)).toEqual([]);
  });

  it("cycles fails on an import cycle", async () => {
    const root = workspace({
      "packages/lib/src/a.ts": 'import { b } from "./b.js";\n\nexport const a = (): number => b() + 1;\n',
      "packages/lib/src/b.ts": 'import { a } from "./a.js";\n\nexport const b = (): number => a.length;\n',
    });
    const { code, output } = await npmRun(root, "cycles");
    expect(code, output).not.toBe(0);
    expect(output).toMatch(/packages\/lib\/src\/[ab]\.ts -> packages\/lib\/src\/[ab]\.ts/);
  });

  it("format:check fails on unformatted code, naming the file", async () => {
    const root = workspace({ "packages/lib/src/ugly.ts": "export const ugly = { a:1,b:'two' }\n" });
    const { code, output } = await npmRun(root, "format:check");
    expect(code, output).not.toBe(0);
    expect(output).toContain("packages/lib/src/ugly.ts");
  });

  it("typecheck fails on a type error in a test", async () => {
    const root = workspace({ "packages/lib/test/wrong.test.ts": 'export const n: number = "not a number";\n' });
    const { code, output } = await npmRun(root, "typecheck");
    expect(code, output).not.toBe(0);
    expect(output).toMatch(/packages\/lib\/test\/wrong\.test\.ts\(1,14\): error TS2322/);
  });
});
