import { mkdtempSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { namedCommand } from "@berth/cli-kit/launch";
import { commands } from "@berth/ctr";
import { type RunningDaemon, buildBusyboxImage, pushTestImage, runCommand, startBerthd, startRegistry } from "@berth/testkit";
import { Config } from "@oclif/core/config";
import { normalizeArgv } from "@oclif/core/help";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const berthCtr = join(packageRoot, "bin/run.js");
const recorder = fileURLToPath(new URL("record-loads.mjs", import.meta.url));
const manifest = JSON.parse(readFileSync(join(packageRoot, "oclif.manifest.json"), "utf8")) as {
  commands: Record<string, { aliases: string[]; hiddenAliases?: string[]; berthSource?: { module: string; exportName: string } }>;
};
const commandIds = Object.keys(commands).sort();

/**
 * The bin runs the package's bundle (@berth/cli-kit/command-bundle): each file in it gathers
 * modules, as esbuild's metafile lists them. A command's entry is `berth-command:<id>`; every
 * other module is named by its file URL, so that what a run loaded reads as modules.
 */
const bundleMeta = JSON.parse(readFileSync(join(packageRoot, "bundle.meta.json"), "utf8")) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
const inputUrl = (input: string) =>
  input.startsWith("berth-command:") ? input : pathToFileURL(resolve(packageRoot, input.replace(/^berth-commonjs:/, ""))).href;
const bundleFiles = new Map(
  Object.entries(bundleMeta.outputs).map(([output, { inputs }]) => [pathToFileURL(join(packageRoot, output)).href, Object.keys(inputs).map(inputUrl)]),
);
/** The entry of command `id` in the bundle, among the modules a run loaded. */
const moduleOf = (id: string) => `berth-command:${id}`;
const commandModules = new Set(commandIds.map(moduleOf));

let scratch: string;
let runs = 0;

/**
 * Runs Berth's ctr as a user does, and returns its result with every file URL it loaded, and the
 * modules those hold (a bundle file stands for the modules it gathers).
 */
async function ctr(...args: string[]) {
  const record = join(scratch, `loads-${runs++}`);
  const result = await runCommand(process.execPath, ["--import", recorder, berthCtr, ...args], {
    env: { PATH: process.env.PATH, BERTH_RECORD_LOADS: record, XDG_CACHE_HOME: join(scratch, "cache") },
    timeoutMs: 30_000,
  });
  const files = readFileSync(record, "utf8")
    .split("\n")
    .filter((url) => url !== "");
  const loaded = files.flatMap((url) => bundleFiles.get(url) ?? [url]);
  return { ...result, files, loaded, commandModules: loaded.filter((url) => commandModules.has(url)) };
}

const words = (id: string) => id.split(":").join(" ");
const listed = (help: string, id: string) => new RegExp(`^  ${words(id).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(  |$)`, "m").test(help);

describe("ctr start-up: help from the manifest, each command loaded alone", () => {
  let daemon: RunningDaemon;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "berth-test-ctr-startup-"));
    daemon = await startBerthd();
  });
  afterAll(async () => {
    await daemon?.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("names every registered command in the manifest, with the module that exports its class", () => {
    expect(Object.keys(manifest.commands).sort()).toEqual(commandIds);
    for (const id of commandIds) expect(manifest.commands[id]!.berthSource, id).toBeDefined();
  });

  it("lists every command in `ctr --help` and `ctr <topic> --help` without loading any command or the client", async () => {
    const root = await ctr("--help");
    expect(root.code).toBe(0);
    const topics = [...new Set(commandIds.filter((id) => id.includes(":")).map((id) => id.split(":")[0]!))];
    for (const topic of topics) expect(root.stdout).toMatch(new RegExp(`^  ${topic} `, "m"));
    for (const id of commandIds.filter((id) => !id.includes(":"))) expect(listed(root.stdout, id), id).toBe(true);
    expect(root.commandModules).toEqual([]);
    expect(root.loaded.filter((url) => /grpc-js|\/packages\/(client|api)\//.test(url))).toEqual([]);

    // `ctr snapshot --help` is stock's alias of `snapshots --help`; `snapshot list` (the seed's own format) runs below.
    for (const topic of topics.filter((topic) => topic !== "snapshot")) {
      const help = await ctr(topic, "--help");
      expect(help.code, topic).toBe(0);
      // A command below a subtopic (`content prune references`) is listed as that subtopic.
      for (const id of commandIds.filter((id) => id.startsWith(`${topic}:`))) {
        const shown = id.split(":").slice(0, 2).join(":");
        expect(listed(help.stdout, shown), `${shown} in ctr ${topic} --help`).toBe(true);
      }
      expect(help.commandModules).toEqual([]);
    }

    const commandHelp = await ctr("namespaces", "ls", "--help");
    expect(commandHelp.stdout).toContain("$ ctr namespaces ls");
    expect(commandHelp.commandModules).toEqual([]);
  });

  it("prints help it printed before without loading oclif, byte for byte, until the package is rebuilt", async () => {
    const oclifLoaded = (loaded: readonly string[]) => loaded.some((url) => url.includes("/@oclif/core/"));
    const first = await ctr("leases", "ls", "--help");
    expect(first.code).toBe(0);
    expect(oclifLoaded(first.loaded)).toBe(true);
    const again = await ctr("leases", "ls", "--help");
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(first.stdout);
    expect(again.stderr).toBe("");
    expect(oclifLoaded(again.loaded)).toBe(false);
    // Another spelling is another request: oclif renders it (stock's `-h` and `help` words).
    const spelled = await ctr("help", "leases", "ls");
    expect(spelled.stdout).toBe(first.stdout);
    expect(oclifLoaded(spelled.loaded)).toBe(true);

    // A rebuilt manifest (a new time) is not the one the help was rendered from.
    const manifestPath = join(packageRoot, "oclif.manifest.json");
    utimesSync(manifestPath, new Date(), new Date());
    const rebuilt = await ctr("leases", "ls", "--help");
    expect(rebuilt.stdout).toBe(first.stdout);
    expect(oclifLoaded(rebuilt.loaded)).toBe(true);

    // A request that fails is never kept: it fails the same way each time, through oclif.
    for (let run = 0; run < 2; run++) {
      const unknown = await ctr("no-such-command", "--help");
      expect(unknown.code, unknown.stderr).not.toBe(0);
      expect(unknown.stderr).toMatch(/no-such-command/);
      expect(oclifLoaded(unknown.loaded)).toBe(true);
    }
  });

  it("runs `ctr version` loading its own command and the connection, not pull, unpack or the other commands", async () => {
    const version = await ctr("--address", daemon.address, "version");
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^Server:\n {2}Version: /m);
    expect(version.commandModules).toEqual([moduleOf("version")]);
    // All from the bundle (one copy of oclif for the launcher and the command): nothing from dist or node_modules.
    expect(version.files.filter((url) => !url.startsWith("node:") && !bundleFiles.has(url))).toEqual([pathToFileURL(berthCtr).href]);
    expect(version.loaded.filter((url) => /\/packages\/(remotes|diff|content|mount)\/|\/client\/dist\/(pull|unpack|push)\.js/.test(url))).toEqual([]);
    // Only the generated types of the services it calls: no events, shim, metrics or sandbox messages, nor semver.
    expect(
      version.loaded.filter((url) =>
        /\/gen\/(containerd\/events|containerd\/task|io\/containerd\/cgroups|containerd\/services\/sandbox)\/|\/node_modules\/semver\//.test(url),
      ),
    ).toEqual([]);
  });

  it("pulls through the daemon's Transfer service without loading the registry client, the local pull or oclif's index; --local loads them", async () => {
    const registry = await startRegistry();
    try {
      await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "1" });
      const ref = `${registry.host}/library/busybox:1`;
      const pullOnly = (loaded: readonly string[]) =>
        loaded.filter((url) =>
          /\/packages\/remotes\/|\/client\/dist\/(pull|store-blob)\.js|\/content\/dist\/local-store\.js|\/@oclif\/core\/lib\/index\.js/.test(url),
        );
      for (const times of ["first", "again"]) {
        const pulled = await ctr("--address", daemon.address, "-n", "startup-pull", "images", "pull", "--plain-http", ref);
        expect(pulled.code, `${times}: ${pulled.stderr}`).toBe(0);
        expect(pulled.stdout).toMatch(/\ndone: [0-9.]+(ms|µs|s)\t\n$/);
        expect(pullOnly(pulled.loaded)).toEqual([]);
      }
      const local = await ctr("--address", daemon.address, "-n", "startup-local", "images", "pull", "--local", "--plain-http", ref);
      expect(local.code, local.stderr).toBe(0);
      expect(local.stdout).toMatch(/\ndone: [0-9.]+(ms|µs|s)\t\n$/);
      expect(local.loaded.some((url) => url.includes("/packages/remotes/"))).toBe(true);
      expect(local.loaded.some((url) => url.endsWith("/client/dist/pull.js"))).toBe(true);
    } finally {
      await registry.stop();
    }
  });

  it("lets the bin rewrite argv knowing every command's aliases and flags from the manifest, loading no command for it", async () => {
    await ctr("--address", daemon.address, "namespaces", "create", "rewritten");
    const code = `
      import { launch } from "@berth/cli-kit/launch";
      await launch(${JSON.stringify(pathToFileURL(berthCtr).href)}, ["--address", ${JSON.stringify(daemon.address)}, "nsx", "ls", "-q"], (argv, commands) => {
        process.stderr.write(JSON.stringify({ ids: Object.keys(commands).sort(), aliases: commands["namespaces:list"].aliases, quiet: commands["namespaces:list"].flags.quiet.type }));
        return argv.map((word) => (word === "nsx" ? "namespaces" : word));
      });`;
    const record = join(scratch, "loads-rewrite");
    const result = await runCommand(process.execPath, ["--import", recorder, "--input-type=module", "-e", code], {
      env: { PATH: process.env.PATH, BERTH_RECORD_LOADS: record },
      timeoutMs: 30_000,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("rewritten\n");
    const told = JSON.parse(result.stderr) as { ids: string[]; aliases: string[]; quiet: string };
    expect(told.ids).toEqual(commandIds);
    expect(told.aliases).toContain("namespaces:ls");
    expect(told.quiet).toBe("boolean");
    // The launcher from dist, unbundled: the command from the module the manifest names.
    const source = manifest.commands["namespaces:list"]!.berthSource!;
    const loaded = readFileSync(record, "utf8").split("\n");
    expect(loaded).toContain(pathToFileURL(join(packageRoot, source.module)).href);
    expect(loaded.filter((url) => url.startsWith(pathToFileURL(join(packageRoot, "dist/commands/")).href))).toEqual([
      pathToFileURL(join(packageRoot, source.module)).href,
    ]);
  });

  it("prints from its bundle what it prints from its sources: help, output and errors, byte for byte", async () => {
    // The same `main` from dist, unbundled: oclif and every module from node_modules and dist.
    const fromSources = (args: readonly string[]) =>
      runCommand(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `const { main } = await import(${JSON.stringify(pathToFileURL(join(packageRoot, "dist/main.js")).href)});
           await main(${JSON.stringify(pathToFileURL(berthCtr).href)}, process.argv.slice(1));`,
          "--",
          ...args,
        ],
        { env: { PATH: process.env.PATH, XDG_CACHE_HOME: join(scratch, "sources-cache") }, timeoutMs: 30_000 },
      );
    await ctr("--address", daemon.address, "namespaces", "create", "same-bytes");
    for (const args of [
      ["--help"],
      ["images", "--help"],
      ["run", "--help"],
      ["c", "rm", "-h"],
      ["--address", daemon.address, "namespaces", "ls"],
      ["--address", daemon.address, "plugins", "ls"],
      ["--address", daemon.address, "images", "rm", "no.such/image:1"],
      ["--address", daemon.address, "snapshots", "ls", "--snapshotter", "nope"],
      ["--address", daemon.address, "version"],
      // Lines oclif answers itself (a topic, a command not found, its version flag), and a command's own parse error.
      ["--address", daemon.address, "images"],
      ["--address", daemon.address, "version", "extra"],
      ["--address", daemon.address, "images", "pull"],
      ["--version"],
      ["no-such-command"],
    ]) {
      const [bundled, sources] = await Promise.all([ctr(...args), fromSources(args)]);
      expect({ code: bundled.code, stdout: bundled.stdout, stderr: bundled.stderr }, args.join(" ")).toEqual({
        code: sources.code,
        stdout: sources.stdout,
        stderr: sources.stderr,
      });
    }
  });

  it("names the command a command line runs as oclif does, or leaves the line to oclif", async () => {
    const config = await Config.load({ root: packageRoot });
    const address = ["--address", "/nowhere.sock"];
    for (const args of [
      ["version"],
      ["version", "extra"],
      ["images", "pull", "docker.io/library/busybox:1"],
      ["images", "pull", "--platform", "linux/amd64", "docker.io/library/busybox:1"],
      ["images", "pull", "a=b"],
      ["images", "ls", "-q"],
      ["images:list", "-q"],
      ["namespaces", "ls"],
      ["namespaces", "create", "ns", "label=x"],
      ["content", "prune", "references"],
      ["tasks", "exec", "--exec-id", "e1", "c1", "sh", "-c", "exit 3"],
      ["run", "--rm", "docker.io/library/busybox:1", "c1", "sh"],
      ["snapshots", "ls"],
      ["images"],
      ["content", "prune"],
      ["no-such-command"],
      ["images", "no-such-command", "x"],
      [...address, "version"],
      ["--version"],
      [],
    ]) {
      const named = namedCommand(args, manifest.commands);
      const [id, ...rest] = normalizeArgv(config, [...args]);
      const command = id === undefined ? undefined : config.findCommand(id);
      if (command === undefined || id!.startsWith("-")) {
        expect(named, args.join(" ")).toBeUndefined();
        continue;
      }
      expect({ id: named?.id, argv: named?.argv }, args.join(" ")).toEqual({ id, argv: rest });
      const owner = manifest.commands[named!.commandId]!;
      expect(named!.commandId === id || [...owner.aliases, ...(owner.hiddenAliases ?? [])].includes(id!), args.join(" ")).toBe(true);
    }
  });

  it("loads for `ctr version` none of the built-in modules only other paths use", async () => {
    const version = await ctr("--address", daemon.address, "version");
    expect(version.code).toBe(0);
    // oclif's stdin prompts, performance marks, Windows shell lookup and WSL check; grpc-js's DNS, compression and proxy; V8 flags.
    const unused = ["node:readline", "node:perf_hooks", "node:child_process", "node:worker_threads", "node:dns", "node:zlib", "node:http", "node:v8"];
    expect(version.files.filter((url) => unused.includes(url))).toEqual([]);
  });

  it("runs every command from its own module, an alias too", async () => {
    // Commands that never dial the daemon: they succeed without one.
    const daemonless = new Set(["oci:spec"]);
    const unreachable = join(scratch, "no-daemon.sock");
    const pending = [...commandIds];
    const runOne = async (): Promise<void> => {
      for (let id = pending.shift(); id !== undefined; id = pending.shift()) {
        // Unreachable daemon: each command parses its arguments and fails as ctr does, which it can only do once loaded.
        const result = await ctr("--address", unreachable, "--connect-timeout", "50ms", ...id.split(":"));
        if (daemonless.has(id)) {
          expect(result.code, id).toBe(0);
        } else {
          expect(result.stderr, id).toMatch(/^ctr: /);
          expect(result.stderr, id).not.toMatch(/not found|exports no/);
          expect(result.code, id).toBe(1);
        }
        expect(result.commandModules, id).toEqual([moduleOf(id)]);
      }
    };
    await Promise.all([runOne(), runOne(), runOne()]);
    const alias = await ctr("--address", daemon.address, "ns", "list", "-q");
    expect(alias.code).toBe(0);
    expect(alias.commandModules).toEqual([moduleOf("namespaces:list")]);
  }, 180_000);
});
