// @berth/content, @berth/api and @berth/filters as a library user gets them: packed, installed into an
// empty project from the tarballs alone, and each README example run there on Node 22 and on the pinned Node 24.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../../..");
const libraries = ["filters", "api", "content"] as const;
const forbidden = new Set(["@grpc", "@bufbuild", "protobufjs"]);
const nodes = { 22: join(repo, ".tools/node22/bin"), 24: join(repo, ".tools/node/bin") } as const;

/** The first ```js block of a package's README: the example a user copies. */
function readmeExample(name: string): string {
  const readme = readFileSync(join(repo, "packages", name, "README.md"), "utf8");
  const example = /^```js\n([\s\S]*?)^```$/m.exec(readme)?.[1];
  if (example === undefined) throw new Error(`packages/${name}/README.md has no js example`);
  return example;
}

/** Every package directory under node_modules, nested ones included. */
function installedPackages(nodeModules: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const names = entry.name.startsWith("@") ? readdirSync(join(nodeModules, entry.name)).map((name) => `${entry.name}/${name}`) : [entry.name];
    for (const name of names) {
      found.push(name);
      const nested = join(nodeModules, name, "node_modules");
      if (existsSync(nested)) found.push(...installedPackages(nested));
    }
  }
  return found;
}

describe("the libraries used alone, from packed tarballs", () => {
  let work: string;
  let project: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "berth-test-pack-"));
    project = join(work, "project");
    mkdirSync(project);
    await run(join(repo, "scripts/pin-node22.sh"));
    const packed = await run("npm", ["pack", "--json", "--pack-destination", work, ...libraries.map((name) => `--workspace=@berth/${name}`)], {
      cwd: repo,
    });
    const tarballs = (JSON.parse(packed.stdout) as { filename: string }[]).map(({ filename }) => join(work, filename));
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "berth-alone", private: true, type: "module" }));
    // npm itself runs on Node 22 here, so that --engine-strict holds the packages to their engines there;
    // --offline with an empty cache: the three have no other dependency to fetch, so one that crept in fails here.
    const install = ["install", "--offline", "--cache", join(work, "npm-cache"), "--engine-strict", "--no-audit", "--no-fund"];
    await run("npm", [...install, ...tarballs], {
      cwd: project,
      env: { ...process.env, PATH: `${nodes[22]}:${process.env.PATH ?? ""}` },
    });
  }, 180_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it("installs the three packages and nothing of gRPC or protobuf", () => {
    const installed = installedPackages(join(project, "node_modules"));
    expect(installed.filter((name) => forbidden.has(name.split("/")[0] ?? ""))).toEqual([]);
    expect(installed.sort()).toEqual(["@berth/api", "@berth/content", "@berth/filters"]);
    const lock = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8")) as { packages: Record<string, { resolved?: string }> };
    for (const name of libraries) expect(lock.packages[`node_modules/@berth/${name}`]?.resolved).toMatch(/^file:\.\.\/berth-.*\.tgz$/);
  });

  it("type-checks a TypeScript user without the peers, library declarations included", async () => {
    // The user's own TypeScript and @types/node, as a Node project has them: here the repository's.
    writeFileSync(
      join(project, "use.ts"),
      [
        'import { type Any, type ContentStore, type Envelope, TypeRegistry, isKind } from "@berth/api";',
        'import { LocalContentStore } from "@berth/content";',
        'const store: ContentStore = await LocalContentStore.open("./content");',
        'const event: Any = { typeUrl: "containerd.events.TaskExit", value: Buffer.from("") };',
        'const envelope: Envelope = { timestamp: { seconds: 1, nanos: 0 }, namespace: "default", topic: "/tasks/exit", event };',
        "export const used = [store, envelope, new TypeRegistry(), isKind];",
      ].join("\n"),
    );
    const tsc = join(repo, "node_modules/typescript/bin/tsc");
    const options = ["--noEmit", "--strict", "--skipLibCheck", "false", "--module", "nodenext", "--target", "es2022"];
    const types = ["--typeRoots", join(repo, "node_modules/@types"), "--types", "node"];
    await expect(run(process.execPath, [tsc, ...options, ...types, "use.ts"], { cwd: project })).resolves.toBeDefined();
  }, 120_000);

  describe.each([22, 24] as const)("on Node %i", (major) => {
    it("is that Node", async () => {
      const { stdout } = await run(join(nodes[major], "node"), ["--version"]);
      expect(stdout).toMatch(new RegExp(`^v${major}\\.`));
    });

    it.each(["filters", "content"])("runs the README example of @berth/%s", async (name) => {
      // The script sits in the project (where node_modules is); it runs in a directory of its own.
      const script = join(project, `readme-${name}-${major}.mjs`);
      writeFileSync(script, readmeExample(name));
      const cwd = join(project, `run-${name}-${major}`);
      mkdirSync(cwd);
      await expect(run(join(nodes[major], "node"), [script], { cwd })).resolves.toBeDefined();
    });

    it("loads @berth/api's contracts without the optional gRPC and protobuf peers", async () => {
      const check = 'const api = await import("@berth/api"); if (api.kindOf(api.notFound("x")) !== "NotFound") process.exit(1);';
      await expect(run(join(nodes[major], "node"), ["--input-type=module", "-e", check], { cwd: project })).resolves.toBeDefined();
      await expect(
        run(join(nodes[major], "node"), ["--input-type=module", "-e", 'const { knownTypes } = await import("@berth/api/known-types"); knownTypes();'], {
          cwd: project,
        }),
      ).rejects.toThrow(/@bufbuild\/protobuf/);
    });
  });
});
