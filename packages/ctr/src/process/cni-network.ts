import { logrusLine } from "../format/logrus.js";

/** The task's network, set up once the task exists and removed when an attached run ends. */
export interface TaskNetwork {
  setup(pid: number): Promise<void>;
  remove(): Promise<void>;
}

/**
 * `ctr run --cni`, as ctr 1.6 does it through go-cni with its defaults: the first config of
 * /etc/cni/net.d on eth0, plugins from /opt/cni/bin or (as Debian's build) /usr/lib/cni
 * (`NETCONFPATH` and `CNI_PATH` override both, as for CNI's own tools), the container known to
 * the plugins as `<namespace>-<id>`, results cached in /var/lib/cni for the DEL as libcni does.
 * Throws go-cni's error when there is no network config.
 */
export async function containerNetwork(namespace: string, containerId: string): Promise<TaskNetwork> {
  const cni = await import("@berth/cni");
  const { confDir, pluginDirs } = cni.cniDirectories();
  const networks = await cni.loadNetworkConfigs(confDir, cni.defaultMaxConfNum);
  const id = `${namespace}-${containerId}`;
  return {
    async setup(pid) {
      const attachment = { containerId: id, netns: `/proc/${pid}/ns/net`, pluginDirs, cacheDir: cni.defaultCacheDir };
      const results = await Promise.allSettled(networks.map((network) => cni.addNetwork(network, attachment)));
      const failed = results.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
    },
    async remove() {
      // ctr removes with no namespace path: the task's process may be gone already.
      try {
        for (const network of networks) await cni.removeNetwork(network, { containerId: id, netns: "", pluginDirs, cacheDir: cni.defaultCacheDir });
      } catch (error) {
        process.stderr.write(logrusLine("error", "network review", { error: (error as Error).message }));
      }
    },
  };
}
