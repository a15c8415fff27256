// The offline CRI conformance kit (shared/cri: critest, crictl, image stand-ins, registry, CNI
// config) around a berthd of the test's own, and the undoing of every host change it makes.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, type RunningDaemon, startBerthd, testDirectory } from "./daemons.js";
import { type CommandResult, runCommand } from "./processes.js";

const repository = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

/** Where the kit is: $BERTH_CRI_KIT, else shared/cri beside the repository (as CI lays it), else /work/shared/cri. */
export const criKitDirectory: string | undefined = [process.env.BERTH_CRI_KIT, join(repository, "..", "shared", "cri"), "/work/shared/cri"].find(
  (candidate): candidate is string => candidate !== undefined && existsSync(join(candidate ?? "", "run-critest.sh")),
);

export const criKitMissing = criKitDirectory === undefined ? "the CRI conformance kit (shared/cri) is not on this machine" : undefined;

/**
 * One kit at a time on a host: the kits share host ports 12000-12003, the portmap chains and
 * net.ipv4.ip_forward. A lock directory holds the owner's pid; a dead owner's lock is taken over.
 */
const lockPath = join(tmpdir(), "berth-test-cri.lock");

async function acquireHostLock(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(lockPath);
      writeFileSync(join(lockPath, "pid"), String(process.pid));
      return;
    } catch {
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(join(lockPath, "pid"), "utf8"));
        process.kill(owner, 0);
      } catch {
        if (!Number.isNaN(owner) || Date.now() - statSync(lockPath, { throwIfNoEntry: false })!.mtimeMs > 10_000)
          rmSync(lockPath, { recursive: true, force: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

const releaseHostLock = () => rmSync(lockPath, { recursive: true, force: true });

const hostportChains = ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"];

async function must(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.code}): ${result.stderr}${result.stdout}`);
  return result.stdout;
}

const netnsNames = async () =>
  (await runCommand("ip", ["netns", "list"])).stdout
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter(Boolean);
const chainExists = async (chain: string) => (await runCommand("iptables", ["-t", "nat", "-S", chain])).code === 0;

export interface CriKit {
  readonly directory: string;
  readonly registry: string;
  readonly daemon: RunningDaemon;
  readonly bridge: string;
  readonly subnet: string;
  readonly logDirectory: string;
  crictl(...args: string[]): Promise<CommandResult>;
  /** Kills berthd with SIGKILL and starts it again on the same directories. */
  restartDaemon(): Promise<void>;
  /** Removes every pod, stops berthd and the registry, and undoes the host changes. */
  cleanup(): Promise<void>;
}

/**
 * Starts the kit's registry with the stand-in images, writes the CRI config (a bridge and a
 * subnet of this run's own) and starts berthd with it.
 */
export async function startCriKit(): Promise<CriKit> {
  const kit = criKitDirectory!;
  await acquireHostLock();
  const directory = testDirectory("cri");
  const ipForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
  const chainsBefore = await Promise.all(hostportChains.map(chainExists));
  const netnsBefore = new Set(await netnsNames());
  const bridge = `bt${randomBytes(4).toString("hex")}`;
  const subnet = `10.254.${100 + Math.floor(Math.random() * 100)}.0/24`;
  let registry = "";
  let daemon: RunningDaemon | undefined;
  const config = (streamPort: number) =>
    `version = 2\n${readFileSync(join(directory, "cri-plugin.toml"), "utf8").replace(/stream_server_port = ".*"/, `stream_server_port = "${streamPort}"`)}`;

  const cleanup = async () => {
    if (daemon !== undefined && daemon.process.exitCode === null) {
      const crictl = (args: string[]) =>
        runCommand(join(kit, "bin", "crictl"), ["-r", `unix://${daemon!.address}`, "-i", `unix://${daemon!.address}`, "-t", "60s", ...args], {
          timeoutMs: 120_000,
        });
      for (const pod of (await crictl(["pods", "-q"])).stdout.split("\n").filter(Boolean)) {
        await crictl(["stopp", pod]);
        await crictl(["rmp", "-f", pod]);
      }
    }
    await daemon?.stop().catch(() => undefined);
    // Whatever a failed test left: container processes, mounts, network namespaces.
    const stateDir = daemon?.state ?? directory;
    const roots = [directory, daemon?.root, daemon?.state].filter((d): d is string => d !== undefined);
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        const root = readlinkSync(`/proc/${pid}/root`);
        if (cmdline.includes(stateDir) || cmdline.includes(directory) || roots.some((r) => root.startsWith(r))) process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone
      }
    }
    const mounts = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1] ?? "")
      .filter((m) => roots.some((r) => m.startsWith(r)));
    for (const mount of mounts.reverse()) await runCommand("umount", ["-l", mount]);
    // Only pod network namespaces with an address in this run's subnet.
    const prefix = subnet.split(".").slice(0, 3).join(".") + ".";
    for (const name of await netnsNames()) {
      if (netnsBefore.has(name) || !name.startsWith("cni-")) continue;
      const addresses = await runCommand("ip", ["netns", "exec", name, "ip", "-4", "-o", "addr"]);
      if (addresses.stdout.includes(prefix)) await runCommand("ip", ["netns", "delete", name]);
    }
    await runCommand("ip", ["link", "del", bridge]);
    const dnat = await runCommand("iptables", ["-t", "nat", "-S", "CNI-HOSTPORT-DNAT"]);
    if (!chainsBefore[0] && dnat.code === 0 && !dnat.stdout.includes("-A ")) {
      await runCommand("iptables", ["-t", "nat", "-D", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"]);
      await runCommand("iptables", ["-t", "nat", "-D", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"]);
      await runCommand("iptables", [
        "-t",
        "nat",
        "-D",
        "POSTROUTING",
        "-m",
        "comment",
        "--comment",
        "CNI portfwd requiring masquerade",
        "-j",
        "CNI-HOSTPORT-MASQ",
      ]);
      for (const chain of hostportChains) {
        await runCommand("iptables", ["-t", "nat", "-F", chain]);
        await runCommand("iptables", ["-t", "nat", "-X", chain]);
      }
    }
    writeFileSync("/proc/sys/net/ipv4/ip_forward", ipForward);
    if (registry !== "") await runCommand(join(kit, "start-registry.sh"), ["stop", join(directory, "registry")]);
    await daemon?.cleanup().catch(() => undefined);
    rmSync(directory, { recursive: true, force: true });
    releaseHostLock();
  };

  try {
    registry = (await must(join(kit, "start-registry.sh"), [join(directory, "registry")])).trim();
    await must(join(kit, "make-images.sh"), [registry, join(directory, "images")], { timeoutMs: 600_000 });
    const keys = await must(join(kit, "write-config.sh"), [join(directory, "cri"), registry, subnet, bridge]);
    writeFileSync(join(directory, "cri-plugin.toml"), keys);
    daemon = await startBerthd({ config: config(await freePort()), logLevel: "info" });
  } catch (error) {
    await cleanup();
    throw error;
  }
  const kitObject: CriKit = {
    directory,
    registry,
    get daemon() {
      return daemon!;
    },
    bridge,
    subnet,
    logDirectory: join(directory, "logs"),
    crictl: (...args) =>
      runCommand(join(kit, "bin", "crictl"), ["-r", `unix://${daemon!.address}`, "-i", `unix://${daemon!.address}`, ...args], { timeoutMs: 120_000 }),
    async restartDaemon() {
      await daemon!.kill();
      daemon = await startBerthd({ reuse: daemon!, config: config(await freePort()), logLevel: "info" });
    },
    cleanup,
  };
  return kitObject;
}

export interface CritestResult {
  readonly passed: string[];
  readonly failed: string[];
  readonly skipped: string[];
  readonly failures: string;
}

/** Runs the kit's run-critest.sh against the kit's berthd (extra flags go to critest). */
export async function runCritest(kit: CriKit, ...flags: string[]): Promise<CritestResult> {
  return runCritestOn(kit.daemon.address, kit.directory, ...flags);
}

/** Runs the kit's run-critest.sh against any CRI socket, its logs under `directory`. */
export async function runCritestOn(address: string, directory: string, ...flags: string[]): Promise<CritestResult> {
  const out = join(directory, `critest-${Date.now()}`);
  await runCommand(join(criKitDirectory!, "run-critest.sh"), [address, ...flags], { env: { ...process.env, OUT: out }, timeoutMs: 1_800_000 });
  const lines = existsSync(join(out, "results.txt")) ? readFileSync(join(out, "results.txt"), "utf8").split("\n") : [];
  const pick = (state: string) => lines.filter((l) => l.startsWith(`${state} `)).map((l) => l.slice(state.length + 1));
  const failures = existsSync(join(out, "failures.txt"))
    ? readFileSync(join(out, "failures.txt"), "utf8")
    : readFileSync(join(out, "critest.log"), "utf8").slice(-4000);
  return { passed: pick("PASS"), failed: pick("FAIL"), skipped: pick("SKIP"), failures };
}

/** Stock containerd 1.6.20 with its CRI plugin on the kit's registry (start-stock-containerd.sh), beside a running kit. */
export interface StockCri {
  readonly address: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startStockCri(kit: CriKit): Promise<StockCri> {
  const directory = join(kit.directory, "stock");
  const script = join(criKitDirectory!, "start-stock-containerd.sh");
  const subnet = kit.subnet.replace(/^10\.254\.(\d+)\./, (_, octet: string) => `10.254.${Number(octet) + 1 > 254 ? Number(octet) - 1 : Number(octet) + 1}.`);
  const address = (await must(script, [directory, kit.registry, subnet], { timeoutMs: 120_000 })).trim().split("\n").at(-1)!;
  return {
    address,
    pid: Number(readFileSync(join(directory, "containerd.pid"), "utf8")),
    async stop() {
      await runCommand(script, ["stop", directory], { timeoutMs: 300_000 });
    },
  };
}

/** The specs stock containerd 1.6.20 passes, from the kit's calibration. */
export function stockPassing(): string[] {
  return readFileSync(join(criKitDirectory!, "expected-stock.txt"), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("PASS "))
    .map((l) => l.slice(5));
}
