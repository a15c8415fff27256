// @berth/cni with Debian's real CNI plugins (bridge, host-local, tuning) in a real network
// namespace: the one of an `unshare --net` process the test starts.
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CniError, addNetwork, cniDirectories, interfaceAddresses, loadNetworkConfigs, loopbackNetwork, removeNetwork } from "@berth/cni";
import { runCommand, spawnTracked, stopProcess, testDirectory } from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const debianPlugins = "/usr/lib/cni";
const pluginsInstalled = ["bridge", "host-local", "tuning"].every((plugin) => existsSync(join(debianPlugins, plugin)));
const bridge = `bcnp${process.pid.toString(36)}`.slice(0, 15);
const subnetPrefix = `10.218.${process.pid % 256}.`;
const networkName = `berth-test-cni-pkg-${process.pid}`;

describe("loadNetworkConfigs", () => {
  let base: string;
  beforeAll(() => {
    base = testDirectory("cni-load");
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const write = (directory: string, files: Record<string, unknown>) => {
    mkdirSync(directory, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(directory, name), typeof content === "string" ? content : JSON.stringify(content));
  };

  it("reads .conf, .conflist and .json files in name order, at most maxConfNum, on eth0, eth1, …", async () => {
    const directory = join(base, "ordered");
    write(directory, {
      "20-second.conf": { cniVersion: "0.4.0", name: "second", type: "loopback" },
      "10-first.conflist": { cniVersion: "0.4.0", name: "first", plugins: [{ type: "bridge" }, { type: "tuning" }] },
      "30-third.json": { cniVersion: "1.0.0", name: "third", type: "loopback" },
      "05-ignored.txt": "not a config",
    });
    mkdirSync(join(directory, "00-a-directory.conf"));
    const first = await loadNetworkConfigs(directory, 1);
    expect(first.map((network) => [network.config.name, network.ifName, network.config.plugins.map((plugin) => plugin.type)])).toEqual([
      ["first", "eth0", ["bridge", "tuning"]],
    ]);
    const all = await loadNetworkConfigs(directory, 0, { interfacePrefix: "net" });
    expect(all.map((network) => [network.config.name, network.config.cniVersion, network.ifName])).toEqual([
      ["first", "0.4.0", "net0"],
      ["second", "0.4.0", "net1"],
      ["third", "1.0.0", "net2"],
    ]);
    // A single .conf is a list of one plugin.
    expect(all[1]!.config.plugins).toEqual([{ cniVersion: "0.4.0", name: "second", type: "loopback" }]);
  });

  it("fails with go-cni's messages for a missing or empty directory and for invalid files", async () => {
    await expect(loadNetworkConfigs(join(base, "missing"), 1)).rejects.toThrow(
      `no network config found in ${join(base, "missing")}: cni plugin not initialized`,
    );
    write(join(base, "empty"), { "README.md": "no config here" });
    await expect(loadNetworkConfigs(join(base, "empty"), 1)).rejects.toThrow(`no network config found in ${join(base, "empty")}: cni plugin not initialized`);
    write(join(base, "untyped"), { "10-untyped.conf": { cniVersion: "0.4.0", name: "untyped" } });
    await expect(loadNetworkConfigs(join(base, "untyped"), 1)).rejects.toThrow(`network type not found in ${join(base, "untyped", "10-untyped.conf")}`);
    write(join(base, "unnamed"), { "10-unnamed.conflist": { cniVersion: "0.4.0", plugins: [{ type: "bridge" }] } });
    await expect(loadNetworkConfigs(join(base, "unnamed"), 1)).rejects.toThrow("error parsing configuration list: no name");
    write(join(base, "no-plugins"), { "10-empty.conflist": { cniVersion: "0.4.0", name: "empty", plugins: [] } });
    await expect(loadNetworkConfigs(join(base, "no-plugins"), 1)).rejects.toThrow("has no networks");
    write(join(base, "broken"), { "10-broken.conflist": "{ not json" });
    await expect(loadNetworkConfigs(join(base, "broken"), 1)).rejects.toThrow("error parsing configuration list");
  });

  it("takes its directories from NETCONFPATH and CNI_PATH, else go-cni's (and Debian's) defaults", () => {
    expect(cniDirectories({})).toEqual({ confDir: "/etc/cni/net.d", pluginDirs: ["/opt/cni/bin", "/usr/lib/cni"] });
    expect(cniDirectories({ NETCONFPATH: "/tmp/conf", CNI_PATH: "/a:/b" })).toEqual({ confDir: "/tmp/conf", pluginDirs: ["/a", "/b"] });
  });
});

describe.skipIf(!pluginsInstalled)("addNetwork and removeNetwork with Debian's plugins", () => {
  let base: string;
  let sandbox: ChildProcess;
  let netns: string;
  const ipamDir = () => join(base, "ipam");
  const cacheDir = () => join(base, "cache");
  const ipam = (subnet: string) => ({ type: "host-local", dataDir: ipamDir(), ranges: [[{ subnet }]] });
  const allocated = () => {
    const directory = join(ipamDir(), networkName);
    return existsSync(directory) ? readdirSync(directory).filter((name) => name !== "lock" && !name.startsWith("last_reserved_ip")) : [];
  };
  const inSandbox = (...args: string[]) => runCommand("nsenter", [`--net=${netns}`, "ip", ...args]);

  beforeAll(async () => {
    base = testDirectory("cni-pkg");
    // The shell prints once it runs in the new namespace, then becomes `sleep` there.
    sandbox = spawnTracked("unshare", ["--net", "sh", "-c", "echo ready; exec sleep 1000"]);
    await new Promise((resolve, reject) => {
      sandbox.stdout!.once("data", resolve);
      sandbox.once("exit", reject);
    });
    netns = `/proc/${sandbox.pid}/ns/net`;
  });

  afterAll(async () => {
    if (sandbox) await stopProcess(sandbox);
    await runCommand("ip", ["link", "del", bridge]);
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it("ADD runs the conflist in order with prevResult, DEL undoes it; the result is cached in between", async () => {
    const directory = join(base, "net.d");
    mkdirSync(directory, { recursive: true });
    // tuning refuses to run without the bridge's result as prevResult.
    const conflist = {
      cniVersion: "0.4.0",
      name: networkName,
      plugins: [
        { type: "bridge", bridge, ipam: ipam(`${subnetPrefix}0/24`) },
        { type: "tuning", sysctl: { "net.ipv4.conf.eth0.forwarding": "1" } },
      ],
    };
    writeFileSync(join(directory, "10-test.conflist"), JSON.stringify(conflist));
    const [network] = await loadNetworkConfigs(directory, 1);
    const attachment = {
      containerId: `berth-test-${process.pid}`,
      netns,
      pluginDirs: [debianPlugins],
      args: [["IgnoreUnknown", "1"]] as const,
      cacheDir: cacheDir(),
    };
    const result = await addNetwork(network!, attachment);
    expect(result.cniVersion).toBe("0.4.0");
    expect(result.ips?.[0]?.address).toMatch(new RegExp(`^${subnetPrefix.replaceAll(".", "\\.")}\\d+/24$`));
    const shown = await inSandbox("-o", "addr", "show", "eth0");
    expect(shown.stdout).toContain(`inet ${result.ips![0]!.address.split("/")[0]}/24`);
    expect((await runCommand("nsenter", [`--net=${netns}`, "cat", "/proc/sys/net/ipv4/conf/eth0/forwarding"])).stdout).toBe("1\n");
    expect(allocated()).toEqual([result.ips![0]!.address.split("/")[0]]);
    // The address the result gives eth0 (go-cni's createResult), not the bridge's own.
    expect(interfaceAddresses(result, "eth0")).toEqual([result.ips![0]!.address.split("/")[0]]);
    expect(interfaceAddresses(result, bridge)).toEqual([]);
    const cached = JSON.parse(readFileSync(join(cacheDir(), "results", `${networkName}-${attachment.containerId}-eth0`), "utf8"));
    expect(cached).toMatchObject({
      kind: "cniCacheV1",
      containerId: attachment.containerId,
      ifName: "eth0",
      networkName,
      netns,
      cniArgs: [["IgnoreUnknown", "1"]],
      result,
    });
    expect(JSON.parse(Buffer.from(cached.config, "base64").toString())).toEqual(conflist);

    await removeNetwork(network!, attachment);
    expect(allocated()).toEqual([]);
    expect((await inSandbox("link", "show", "eth0")).code).not.toBe(0);
    expect(existsSync(join(cacheDir(), "results", `${networkName}-${attachment.containerId}-eth0`))).toBe(false);
    // A second DEL finds nothing to remove, and is no error.
    await removeNetwork(network!, attachment);
  });

  it("go-cni's loopback network brings lo up, and its result gives lo the loopback addresses", async () => {
    const attachment = { containerId: `berth-test-lo-${process.pid}`, netns, pluginDirs: [debianPlugins] };
    expect((await inSandbox("-o", "addr", "show", "lo")).stdout).not.toContain("inet 127.0.0.1");
    const loopback = loopbackNetwork();
    expect([loopback.ifName, loopback.config.name, loopback.config.cniVersion]).toEqual(["lo", "cni-loopback", "0.3.1"]);
    const result = await addNetwork(loopback, attachment);
    expect(interfaceAddresses(result, "lo")).toContain("127.0.0.1");
    expect((await inSandbox("-o", "addr", "show", "lo")).stdout).toContain("inet 127.0.0.1/8");
    await removeNetwork(loopback, attachment);
  });

  it("a plugin's error result becomes a CniError; a missing plugin is named with the path searched", async () => {
    const directory = join(base, "bad.d");
    mkdirSync(directory, { recursive: true });
    writeFileSync(
      join(directory, "10-bad.conflist"),
      JSON.stringify({ cniVersion: "0.4.0", name: networkName, plugins: [{ type: "bridge", bridge, ipam: ipam("not-a-subnet") }] }),
    );
    const [bad] = await loadNetworkConfigs(directory, 1);
    const attachment = { containerId: `berth-test-bad-${process.pid}`, netns, pluginDirs: [debianPlugins] };
    const failure = await addNetwork(bad!, attachment).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(CniError);
    // host-local answers with CNI's generic code (999) and its reason; the message names the plugin as libcni's does.
    expect(failure).toMatchObject({ code: 999, msg: "invalid CIDR address: not-a-subnet" });
    expect((failure as Error).message).toBe('plugin type="bridge" failed (add): invalid CIDR address: not-a-subnet');
    const missing = { ...bad!, config: { ...bad!.config, plugins: [{ type: "berth-test-no-such-plugin" }] } };
    await expect(addNetwork(missing, { ...attachment, pluginDirs: [debianPlugins, "/nonexistent"] })).rejects.toThrow(
      `plugin type="berth-test-no-such-plugin" failed (add): failed to find plugin "berth-test-no-such-plugin" in path [${debianPlugins} /nonexistent]`,
    );
    expect(allocated()).toEqual([]);
  });
});
