import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { testDirectory } from "./daemons.js";
import { type CommandResult, runCommand, spawnLogged, stopProcess } from "./processes.js";
import { reapRuntimeLeftovers } from "./runtime.js";

/**
 * Debian's docker.io (dockerd 20.10 and its CLI), by full path: `/usr/local/bin/docker` may be
 * another, unrelated client.
 */
export const dockerdBinary = "/usr/sbin/dockerd";
export const dockerBinary = "/usr/bin/docker";
export const dockerInstalled: boolean = existsSync(dockerdBinary) && existsSync(dockerBinary);

/** dockerd's plugin sockets directory: fixed at /run/docker/plugins whatever its flags say. */
const pluginsRunDirectory = "/run/docker/plugins";

/** A dockerd using a given containerd (or berthd), with every path it accepts under its own test directory. */
export interface RunningDockerd {
  readonly directory: string;
  /** dockerd's API socket. */
  readonly socket: string;
  readonly process: ChildProcess;
  /** The cgroup below which its containers' cgroups go: `/<basename of directory>`. */
  readonly cgroupParent: string;
  logs(): string;
  /** Runs Debian's docker CLI against this dockerd (its client config kept in the directory); killed after `timeoutMs`. */
  docker(args: readonly string[], timeoutMs?: number): Promise<CommandResult>;
  /**
   * Stops dockerd (which stops its containers), then removes whatever is left however it ended:
   * runc containers in its runc root, processes and mounts under its directory, its cgroups, the
   * directory, and /run/docker if it made it.
   */
  cleanup(): Promise<void>;
}

export interface DockerdOptions {
  /** The containerd socket dockerd uses (`--containerd`); its containers go in that daemon's namespace `moby`. */
  readonly containerd: string;
  /** How long to wait for the API to answer; a first start can be slow. */
  readonly startTimeoutMs?: number;
}

/**
 * Starts dockerd on its own data root, exec root, socket, pid file, config file and key, with
 * networking kept off the host (no bridge, no iptables rules, no userland proxy), and waits until
 * `docker version` answers.
 */
export async function startDockerd(options: DockerdOptions): Promise<RunningDockerd> {
  const directory = testDirectory("docker");
  const socket = join(directory, "docker.sock");
  const execRoot = join(directory, "exec");
  const cgroupParent = `/${basename(directory)}`;
  const madeRunDocker = !existsSync("/run/docker");
  const configFile = join(directory, "daemon.json");
  // The trust key would otherwise go to /etc/docker/key.json.
  writeFileSync(configFile, JSON.stringify({ "deprecated-key-path": join(directory, "key.json") }));
  const clientConfig = join(directory, "client");
  mkdirSync(clientConfig);

  const { child, logs } = spawnLogged(
    dockerdBinary,
    [
      "--containerd",
      options.containerd,
      "--data-root",
      join(directory, "data"),
      "--exec-root",
      execRoot,
      "--host",
      `unix://${socket}`,
      "--pidfile",
      join(directory, "docker.pid"),
      "--config-file",
      configFile,
      "--bridge",
      "none",
      "--iptables=false",
      "--ip6tables=false",
      "--ip-masq=false",
      "--userland-proxy=false",
      "--exec-opt",
      "native.cgroupdriver=cgroupfs",
      "--cgroup-parent",
      cgroupParent,
    ],
    join(directory, "dockerd.log"),
  );
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: clientConfig };

  const dockerd: RunningDockerd = {
    directory,
    socket,
    process: child,
    cgroupParent,
    logs,
    docker: (args, timeoutMs = 60_000) => runCommand(dockerBinary, args, { env, timeoutMs }),
    async cleanup() {
      await stopProcess(child, 30_000);
      await reapRuntimeLeftovers({ directory, runcRoots: [join(execRoot, "runtime-runc")], cgroups: [cgroupParent] });
      logs(); // kept for a failing test's message after the directory goes
      rmSync(directory, { recursive: true, force: true });
      if (madeRunDocker) {
        for (const made of [pluginsRunDirectory, "/run/docker"]) {
          try {
            rmdirSync(made);
          } catch {
            // not there, or not empty: another dockerd's
          }
        }
      }
    },
  };

  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`dockerd exited before serving:\n${logs()}`);
      if ((await dockerd.docker(["version"], 10_000)).code === 0) break;
      if (Date.now() > deadline) throw new Error(`dockerd did not serve ${socket} in time:\n${logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await dockerd.cleanup();
    throw error;
  }
  return dockerd;
}
