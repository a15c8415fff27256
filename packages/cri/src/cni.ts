import { spawn } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { criV1 } from "@berth/api/cri";

interface NetworkList {
  readonly name: string;
  readonly cniVersion: string;
  readonly plugins: readonly Record<string, unknown>[];
}

export interface CniResult {
  readonly interfaces?: { name: string; sandbox?: string }[];
  readonly ips?: { address: string; interface?: number; version?: string }[];
  readonly [key: string]: unknown;
}

export interface PodNetwork {
  readonly id: string;
  readonly netns: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly portMappings: readonly criV1.PortMapping[];
  readonly dns?: criV1.DNSConfig | undefined;
}

const protocols = ["tcp", "udp", "sctp"];

/**
 * CNI as containerd's go-cni drives it: the first `max_conf_num` network lists of `conf_dir`
 * (`*.conf`, `*.conflist`, `*.json` by name), each attached as `eth0`, `eth1`…, after a loopback
 * network; plugins run from `bin_dir`, chained with `prevResult`.
 */
export class Cni {
  constructor(
    private readonly binDir: string,
    private readonly confDir: string,
    private readonly maxConfNum: number,
  ) {}

  async networks(): Promise<NetworkList[]> {
    let files: string[];
    try {
      files = (await readdir(this.confDir)).filter((f) => /\.(conf|conflist|json)$/.test(f)).sort();
    } catch {
      return [];
    }
    const lists: NetworkList[] = [];
    for (const file of files) {
      if (this.maxConfNum > 0 && lists.length >= this.maxConfNum) break;
      try {
        const parsed = JSON.parse(await readFile(join(this.confDir, file), "utf8")) as Record<string, unknown>;
        if (Array.isArray(parsed.plugins)) lists.push(parsed as unknown as NetworkList);
        else lists.push({ name: String(parsed.name ?? ""), cniVersion: String(parsed.cniVersion ?? "0.4.0"), plugins: [parsed] });
      } catch {
        // an unreadable file is skipped, as libcni does
      }
    }
    return lists;
  }

  /** Status's NetworkReady: an error text when no network is configured. */
  async status(): Promise<string | undefined> {
    return (await this.networks()).length === 0 ? "cni plugin not initialized" : undefined;
  }

  #exec(plugin: Record<string, unknown>, command: "ADD" | "DEL", ifname: string, pod: PodNetwork, input: Record<string, unknown>): Promise<CniResult> {
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.id};K8S_POD_UID=${pod.uid}`;
    const env = { ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: pod.id, CNI_NETNS: pod.netns, CNI_IFNAME: ifname, CNI_ARGS: args, CNI_PATH: this.binDir };
    return new Promise((resolve, reject) => {
      const child = spawn(join(this.binDir, String(plugin.type)), [], { env, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) => {
        if (code === 0) {
          try {
            resolve(stdout.trim() === "" ? {} : (JSON.parse(stdout) as CniResult));
          } catch (error) {
            reject(error);
          }
          return;
        }
        let message = stderr || stdout;
        try {
          const parsed = JSON.parse(stdout) as { msg?: string; details?: string };
          message = [parsed.msg, parsed.details].filter(Boolean).join("; ");
        } catch {
          // not JSON
        }
        reject(new Error(`plugin type=${JSON.stringify(plugin.type)} failed (${command.toLowerCase()}): ${message.trim()}`));
      });
      child.stdin.end(JSON.stringify(input));
    });
  }

  async #runList(list: NetworkList, command: "ADD" | "DEL", ifname: string, pod: PodNetwork): Promise<CniResult> {
    const portMappings = pod.portMappings
      .filter((p) => p.hostPort > 0)
      .map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: protocols[p.protocol] ?? "tcp", hostIP: p.hostIp }));
    const plugins = command === "ADD" ? list.plugins : [...list.plugins].reverse();
    let previous: CniResult | undefined;
    for (const plugin of plugins) {
      const capabilities = (plugin.capabilities ?? {}) as Record<string, boolean>;
      const runtimeConfig: Record<string, unknown> = {};
      if (capabilities.portMappings && portMappings.length > 0) runtimeConfig.portMappings = portMappings;
      if (capabilities.dns && pod.dns !== undefined) runtimeConfig.dns = { servers: pod.dns.servers, searches: pod.dns.searches, options: pod.dns.options };
      const input: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
      if (Object.keys(runtimeConfig).length > 0) input.runtimeConfig = runtimeConfig;
      if (previous !== undefined && command === "ADD") input.prevResult = previous;
      const result = await this.#exec(plugin, command, ifname, pod, input);
      if (command === "ADD") previous = result;
    }
    return previous ?? {};
  }

  #loopback(): NetworkList {
    return { name: "cni-loopback", cniVersion: "0.3.1", plugins: [{ type: "loopback" }] };
  }

  /** CNI ADD of every network; the first result is the pod's (`eth0`). */
  async setup(pod: PodNetwork): Promise<{ ip: string; additionalIps: string[]; result: CniResult }> {
    const lists = await this.networks();
    if (lists.length === 0) throw new Error(`failed to setup network for sandbox ${JSON.stringify(pod.id)}: cni plugin not initialized`);
    await this.#runList(this.#loopback(), "ADD", "lo", pod);
    const results: CniResult[] = [];
    for (const [i, list] of lists.entries()) results.push(await this.#runList(list, "ADD", `eth${i}`, pod));
    const first = results[0]!;
    const eth0 = (first.interfaces ?? []).findIndex((i) => i.name === "eth0" && i.sandbox);
    const ips = (first.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === eth0).map((ip) => ip.address.split("/")[0]!);
    if (ips.length === 0) throw new Error(`failed to find network info for sandbox ${JSON.stringify(pod.id)}`);
    const v4 = ips.find((ip) => !ip.includes(":")) ?? ips[0]!;
    return { ip: v4, additionalIps: ips.filter((ip) => ip !== v4), result: first };
  }

  /** CNI DEL of every network, ignoring "not found". */
  async teardown(pod: PodNetwork): Promise<void> {
    const lists = await this.networks();
    for (const [i, list] of lists.entries()) {
      try {
        await this.#runList(list, "DEL", `eth${i}`, pod);
      } catch (error) {
        if (!/not found|no such/i.test(String(error))) throw error;
      }
    }
    await this.#runList(this.#loopback(), "DEL", "lo", pod).catch(() => undefined);
  }
}
