import type { criV1 } from "@berth/api/cri";
import { type Attachment, type CniResult, type Network, addNetwork, interfaceAddresses, loadNetworkConfigs, loopbackNetwork, removeNetwork } from "@berth/cni";

/** The pod whose network namespace is attached to the configured networks. */
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
 * The CRI's networking as containerd's drives go-cni: the first `max_conf_num` networks of
 * `conf_dir` on `eth0`, `eth1`… after go-cni's loopback on `lo`, the pod named to the plugins in
 * `CNI_ARGS`, and its port mappings and DNS given to the plugins that declare those capabilities.
 */
export class PodNetworks {
  constructor(
    private readonly binDir: string,
    private readonly confDir: string,
    private readonly maxConfNum: number,
  ) {}

  networks(): Promise<Network[]> {
    return loadNetworkConfigs(this.confDir, this.maxConfNum);
  }

  /** The networks as go-cni's GetConfig reports them (the verbose Status's `cniconfig`). */
  async configInfo(): Promise<Record<string, unknown>> {
    const networks = await this.networks().catch(() => []);
    return {
      PluginDirs: [this.binDir],
      PluginConfDir: this.confDir,
      PluginMaxConfNum: this.maxConfNum,
      Prefix: "eth",
      Networks: [loopbackNetwork(), ...networks].map(({ config, ifName }) => ({
        Config: {
          Name: config.name,
          CNIVersion: config.cniVersion,
          Plugins: config.plugins.map((plugin) => ({ Network: plugin, Source: JSON.stringify(plugin) })),
          Source: config.bytes,
        },
        IFName: ifName,
      })),
    };
  }

  /** Status's NetworkReady: an error text when no network is configured. */
  async status(): Promise<string | undefined> {
    return this.networks().then(
      () => undefined,
      () => "cni plugin not initialized",
    );
  }

  #attachment(pod: PodNetwork): Attachment {
    const portMappings = pod.portMappings
      .filter((p) => p.hostPort > 0)
      .map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: protocols[p.protocol] ?? "tcp", hostIP: p.hostIp }));
    const capabilityArgs: Record<string, unknown> = {};
    if (portMappings.length > 0) capabilityArgs.portMappings = portMappings;
    if (pod.dns !== undefined) capabilityArgs.dns = { servers: pod.dns.servers, searches: pod.dns.searches, options: pod.dns.options };
    const args: [string, string][] = [
      ["IgnoreUnknown", "1"],
      ["K8S_POD_NAMESPACE", pod.namespace],
      ["K8S_POD_NAME", pod.name],
      ["K8S_POD_INFRA_CONTAINER_ID", pod.id],
      ["K8S_POD_UID", pod.uid],
    ];
    return { containerId: pod.id, netns: pod.netns, pluginDirs: [this.binDir], args, capabilityArgs };
  }

  /**
   * CNI ADD of every network, all at once as go-cni's Setup does (each network's plugins still in
   * turn), the first failure reported once all have ended; the first network's result is the pod's (`eth0`).
   */
  async setup(pod: PodNetwork): Promise<{ ip: string; additionalIps: string[]; result: CniResult }> {
    const networks = await this.networks().catch(() => {
      throw new Error(`failed to setup network for sandbox ${JSON.stringify(pod.id)}: cni plugin not initialized`);
    });
    const attachment = this.#attachment(pod);
    const settled = await Promise.allSettled([loopbackNetwork(), ...networks].map((network) => addNetwork(network, attachment)));
    const failure = settled.find((outcome) => outcome.status === "rejected");
    if (failure !== undefined) throw failure.reason;
    const first = (settled[1] as PromiseFulfilledResult<CniResult>).value;
    const ips = interfaceAddresses(first, networks[0]!.ifName);
    if (ips.length === 0) throw new Error(`failed to find network info for sandbox ${JSON.stringify(pod.id)}`);
    const v4 = ips.find((ip) => !ip.includes(":")) ?? ips[0]!;
    return { ip: v4, additionalIps: ips.filter((ip) => ip !== v4), result: first };
  }

  /** CNI DEL of every network (what is already gone is no error); a pod whose networks are no longer configured only loses its loopback. */
  async teardown(pod: PodNetwork): Promise<void> {
    const networks = await this.networks().catch(() => []);
    const attachment = this.#attachment(pod);
    for (const network of networks) await removeNetwork(network, attachment);
    await removeNetwork(loopbackNetwork(), attachment).catch(() => undefined);
  }
}
