// `ctr run --cni` with Debian's real CNI plugins (bridge, host-local) in real network namespaces:
// Berth's ctr against berthd and a stock containerd, and Debian's stock ctr beside it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadNetworkConfigs, removeNetwork } from "@berth/cni";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  pushTestImage,
  reapRuntimeLeftovers,
  runCommand,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
  stockCtr,
  waitUntil,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const debianPlugins = "/usr/lib/cni";
const pluginsInstalled = existsSync(join(debianPlugins, "bridge")) && existsSync(join(debianPlugins, "host-local"));
const namespace = `berth-test-ctr-cni-${process.pid}`;
// A bridge and a private subnet of the test's own; no gateway and no masquerading, so the plugins
// change no sysctl and add no iptables rule.
const bridge = `bcni${process.pid.toString(36)}`.slice(0, 15);
const subnetPrefix = `10.219.${process.pid % 256}.`;
const networkName = `berth-test-cni-${process.pid}`;

/** Writes the test's conflist into `confDir`; host-local keeps its allocations in `ipamDir`. */
function writeConflist(confDir: string, ipamDir: string): void {
  mkdirSync(confDir, { recursive: true });
  const conflist = {
    cniVersion: "0.4.0",
    name: networkName,
    plugins: [
      {
        type: "bridge",
        bridge,
        isGateway: false,
        ipMasq: false,
        ipam: { type: "host-local", dataDir: ipamDir, ranges: [[{ subnet: `${subnetPrefix}0/24` }]] },
      },
    ],
  };
  writeFileSync(join(confDir, "10-berth-test.conflist"), JSON.stringify(conflist));
}

/** Stock ctr's log lines carry the time; the rest must match. */
const timeless = (text: string) => text.replace(/time="[^"]+"/g, 'time="…"');

/** A conflist of one plugin, `plugin`, in a directory of its own. */
function writeOnePluginConflist(confDir: string, plugin: Record<string, unknown>): void {
  mkdirSync(confDir, { recursive: true });
  writeFileSync(join(confDir, "10-berth-test.conflist"), JSON.stringify({ cniVersion: "0.4.0", name: networkName, plugins: [plugin] }));
}

// Both ctrs keep each ADD's result in libcni's cache, /var/lib/cni/results, until the DEL.
const cniCacheDir = "/var/lib/cni";
const cacheFile = (containerId: string) => join(cniCacheDir, "results", `${networkName}-${namespace}-${containerId}-eth0`);
const cacheDirExisted = existsSync(cniCacheDir);

/** The addresses host-local holds for the network (its files other than the lock and its bookmark). */
function allocatedAddresses(ipamDir: string): string[] {
  const directory = join(ipamDir, networkName);
  return existsSync(directory) ? readdirSync(directory).filter((name) => name !== "lock" && !name.startsWith("last_reserved_ip")) : [];
}

/** The veths plugged into the test's bridge. */
async function bridgePorts(): Promise<string[]> {
  const listed = await runCommand("ip", ["-o", "link", "show", "master", bridge]);
  return listed.code === 0 ? listed.stdout.split("\n").filter((line) => line.trim() !== "") : [];
}

/** `ip addr` as the container printed it, without what differs from run to run (indexes, MACs, the host part, lifetimes). */
function normalizedAddresses(text: string): string {
  return text
    .replace(/^\d+: /gm, "N: ")
    .replace(/@if\d+/g, "@ifN")
    .replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, "MAC")
    .replace(new RegExp(`${subnetPrefix.replaceAll(".", "\\.")}\\d+`, "g"), `${subnetPrefix}X`)
    .replace(/fe80::[0-9a-f:]+/g, "fe80::X");
}

/**
 * Runs `command` where /etc/cni/net.d is `confDir`: stock ctr reads only go-cni's default paths, so a
 * private mount namespace overlays /etc for it (nothing is written to the host's /etc). Plugins come
 * from /usr/lib/cni, which Debian's build searches after /opt/cni/bin.
 */
function inDefaultCniPaths(base: string, confDir: string, command: string, args: readonly string[]) {
  for (const part of ["upper", "work"]) mkdirSync(join(base, `etc-${part}`), { recursive: true });
  const script = [
    "set -e",
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${join(base, "etc-upper")},workdir=${join(base, "etc-work")} /etc`,
    "rm -rf /etc/cni",
    "mkdir -p /etc/cni",
    `ln -s ${confDir} /etc/cni/net.d`,
    'exec "$@"',
  ].join("\n");
  const env = { ...process.env };
  delete env.NETCONFPATH;
  delete env.CNI_PATH;
  return runCommand("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", command, ...args], { env, timeoutMs: 60_000 });
}

const daemons: { name: string; start: () => Promise<RunningDaemon | undefined> }[] = [
  { name: "berthd", start: () => startBerthd() },
  { name: "stock containerd", start: () => startStockContainerd() },
];

describe.skipIf(!stockContainerdInstalled || !pluginsInstalled)("ctr run --cni with Debian's CNI plugins", () => {
  let registry: RunningRegistry;
  let image: string;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    image = `${registry.host}/library/busybox:latest`;
  });

  afterAll(async () => {
    await registry?.stop();
    // The bridge is the only thing the plugins leave on the host by design; it goes even when a test failed.
    await runCommand("ip", ["link", "del", bridge]);
    const results = join(cniCacheDir, "results");
    for (const name of existsSync(results) ? readdirSync(results) : []) if (name.startsWith(`${networkName}-`)) rmSync(join(results, name), { force: true });
    if (!cacheDirExisted) {
      for (const directory of [results, cniCacheDir]) {
        try {
          rmdirSync(directory);
        } catch {
          // someone else's results are there
        }
      }
    }
  });

  describe.each(daemons)("through $name", ({ name, start }) => {
    let daemon: RunningDaemon;
    let base: string;
    let confDir: string;
    let ipamDir: string;
    const runcRoot = () => join(base, "runc");
    const options = (...args: string[]) => ["--address", daemon.address, "-n", namespace, ...args];
    const runFlags = () => ["--fifo-dir", join(base, "fifo"), "--runc-root", runcRoot()];
    const berth = (args: string[], env: NodeJS.ProcessEnv) =>
      runCommand(process.execPath, [berthCtr, ...options(...args)], { env: { PATH: process.env.PATH, ...env }, timeoutMs: 60_000 });
    const cniEnv = () => ({ NETCONFPATH: confDir, CNI_PATH: debianPlugins });

    beforeAll(async () => {
      daemon = (await start())!;
      base = join(daemon.root, "..");
      confDir = join(base, "net.d");
      ipamDir = join(base, "ipam");
      writeConflist(confDir, ipamDir);
      const pulled = await berth(["images", "pull", "--plain-http", image], {});
      expect(pulled.code, pulled.stderr).toBe(0);
    });

    afterAll(async () => {
      await daemon?.stop();
      if (base !== undefined) await reapRuntimeLeftovers({ directory: base, runcRoots: [runcRoot()], cgroups: [`/${namespace}`] });
      await daemon?.cleanup();
      if (daemon?.kind === "containerd") rmSync(`/run/containerd/runc/${namespace}`, { recursive: true, force: true });
    });

    it("run --cni --rm gives the container eth0 on the network, then releases its address and veth", async () => {
      const run = await berth(["run", "--cni", "--rm", ...runFlags(), image, "cni1", "busybox", "ip", "addr"], cniEnv());
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe("");
      expect(run.stdout).toMatch(new RegExp(`eth0@if\\d+: <BROADCAST,MULTICAST,UP,LOWER_UP`));
      expect(run.stdout).toMatch(new RegExp(`inet ${subnetPrefix.replaceAll(".", "\\.")}\\d+/24 .*scope global eth0`));
      // host-local released the address, and the veth went with the container's namespace.
      expect(allocatedAddresses(ipamDir)).toEqual([]);
      expect(existsSync(cacheFile("cni1"))).toBe(false);
      await waitUntil("the container's veth to leave the bridge", async () => (await bridgePorts()).length === 0);
      expect((await berth(["containers", "ls", "-q"], {})).stdout).toBe("");
      if (name === "stock containerd") {
        // Debian's stock ctr, reading go-cni's default paths, gives the container the same network.
        const stock = await inDefaultCniPaths(base, confDir, stockCtr!, options("run", "--cni", "--rm", ...runFlags(), image, "cni2", "busybox", "ip", "addr"));
        expect(stock.code, stock.stderr).toBe(0);
        expect(normalizedAddresses(run.stdout)).toBe(normalizedAddresses(stock.stdout));
        expect(allocatedAddresses(ipamDir)).toEqual([]);
        expect(existsSync(cacheFile("cni2"))).toBe(false);
        await waitUntil("stock's veth to leave the bridge", async () => (await bridgePorts()).length === 0);
      }
    });

    it("run --cni -d keeps the network while the task runs, as stock ctr", async () => {
      const run = await berth(["run", "--cni", "-d", ...runFlags(), image, "cni3", "sleep", "1000"], cniEnv());
      expect(run.code, run.stderr).toBe(0);
      expect(allocatedAddresses(ipamDir)).toHaveLength(1);
      expect(await bridgePorts()).toHaveLength(1);
      expect((await berth(["tasks", "rm", "-f", "cni3"], {})).code).toBe(0);
      expect((await berth(["containers", "rm", "cni3"], {})).code).toBe(0);
      // As stock ctr, a detached run leaves the address allocated, its result cached: release it by hand (CNI DEL).
      expect(JSON.parse(readFileSync(cacheFile("cni3"), "utf8"))).toMatchObject({
        kind: "cniCacheV1",
        containerId: `${namespace}-cni3`,
        ifName: "eth0",
        networkName,
      });
      const networks = await loadNetworkConfigs(confDir, 1);
      await removeNetwork(networks[0]!, { containerId: `${namespace}-cni3`, netns: "", pluginDirs: [debianPlugins], cacheDir: cniCacheDir });
      expect(existsSync(cacheFile("cni3"))).toBe(false);
      expect(allocatedAddresses(ipamDir)).toEqual([]);
    });

    it("with no network config, run --cni fails with go-cni's error and leaves nothing", async () => {
      const empty = join(base, "empty.d");
      mkdirSync(empty, { recursive: true });
      const failed = await berth(["run", "--cni", "--rm", ...runFlags(), image, "cni4", "true"], { NETCONFPATH: empty, CNI_PATH: debianPlugins });
      expect(failed).toMatchObject({ code: 1, stdout: "", stderr: `ctr: no network config found in ${empty}: cni plugin not initialized\n` });
      const missing = await berth(["run", "--cni", "--rm", ...runFlags(), image, "cni5", "true"], { NETCONFPATH: join(base, "missing.d") });
      expect(missing.stderr).toBe(`ctr: no network config found in ${join(base, "missing.d")}: cni plugin not initialized\n`);
      expect((await berth(["containers", "ls", "-q"], {})).stdout).toBe("");
      if (name === "stock containerd") {
        // With go-cni's default paths, Berth's ctr and stock ctr print the same.
        const runBoth = (ctr: string, prefix: string[], id: string) =>
          inDefaultCniPaths(base, empty, ctr, [...prefix, ...options("run", "--cni", "--rm", ...runFlags(), image, id, "true")]);
        const stock = await runBoth(stockCtr!, [], "cni6");
        const ours = await runBoth(process.execPath, [berthCtr], "cni7");
        expect(stock).toMatchObject({ code: 1, stderr: "ctr: no network config found in /etc/cni/net.d: cni plugin not initialized\n" });
        expect(ours).toMatchObject({ code: stock.code, stdout: stock.stdout, stderr: stock.stderr });
      }
    });

    it("a plugin that cannot be found or that fails stops the run with stock's error and leaves nothing", async () => {
      const missingDir = join(base, "missing-plugin.d");
      writeOnePluginConflist(missingDir, { type: "berth-test-no-such-plugin" });
      const failingDir = join(base, "failing-plugin.d");
      writeOnePluginConflist(failingDir, { type: "bridge", bridge, ipam: { type: "host-local", dataDir: ipamDir, ranges: [[{ subnet: "not-a-subnet" }]] } });
      const missing = await berth(["run", "--cni", "--rm", ...runFlags(), image, "cni8", "true"], { NETCONFPATH: missingDir, CNI_PATH: debianPlugins });
      // As stock ctr, the failed ADD is followed by a DEL, whose failure is logged before the error.
      const notFound = (command: string) =>
        `plugin type="berth-test-no-such-plugin" failed (${command}): failed to find plugin "berth-test-no-such-plugin" in path [${debianPlugins}]`;
      expect(missing.code).toBe(1);
      expect(timeless(missing.stderr)).toBe(`time="…" level=error msg="network review" error=${JSON.stringify(notFound("delete"))}\nctr: ${notFound("add")}\n`);
      const failing = await berth(["run", "--cni", "--rm", ...runFlags(), image, "cni9", "true"], { NETCONFPATH: failingDir, CNI_PATH: debianPlugins });
      expect(failing.code).toBe(1);
      // host-local's error result (`{"code": 7, "msg": …}`), passed on by bridge.
      const badSubnet = (command: string) => `plugin type="bridge" failed (${command}): invalid CIDR address: not-a-subnet`;
      expect(timeless(failing.stderr)).toBe(
        `time="…" level=error msg="network review" error=${JSON.stringify(badSubnet("delete"))}\nctr: ${badSubnet("add")}\n`,
      );
      expect((await berth(["containers", "ls", "-q"], {})).stdout).toBe("");
      expect((await berth(["tasks", "ls", "-q"], {})).stdout).toBe("");
      expect(allocatedAddresses(ipamDir)).toEqual([]);
      if (name === "stock containerd") {
        for (const [confDir, id] of [
          [missingDir, "cni10"],
          [failingDir, "cni11"],
        ] as const) {
          const runWith = (ctr: string, prefix: string[], container: string) =>
            inDefaultCniPaths(base, confDir, ctr, [...prefix, ...options("run", "--cni", "--rm", ...runFlags(), image, container, "true")]);
          const ours = await runWith(process.execPath, [berthCtr], `${id}-berth`);
          const stock = await runWith(stockCtr!, [], `${id}-stock`);
          // Stock ctr cannot delete the created task it could not start, and so leaves it and its container.
          await berth(["tasks", "rm", "-f", `${id}-stock`], {});
          await berth(["containers", "rm", `${id}-stock`], {});
          expect(stock.code, stock.stderr).toBe(1);
          expect(ours).toMatchObject({ code: stock.code, stdout: stock.stdout });
          expect(timeless(ours.stderr)).toBe(timeless(stock.stderr));
        }
        expect((await berth(["containers", "ls", "-q"], {})).stdout).toBe("");
      }
    });
  });
});
