import { createHash } from "node:crypto";
import { connect } from "node:net";
import { dirname, join } from "node:path";

/** Annotations that put containers into one shim, as containerd's runc shim reads them. */
export const groupAnnotations = ["io.containerd.runc.v2.group", "io.kubernetes.cri.sandbox-id"] as const;

/**
 * The group a container's shim serves: the group or sandbox annotation, else the namespace, so
 * that one shim process serves all the containers of a namespace (containerd's shim defaults to
 * one process per container, which costs ~10 MB each).
 */
export function shimGroup(annotations: Readonly<Record<string, string>> | undefined, namespace: string): string {
  for (const key of groupAnnotations) {
    const value = annotations?.[key];
    if (value !== undefined && value !== "") return value;
  }
  return namespace;
}

const maxSocketPath = 106;

/**
 * The shim socket of a group: `<directory of the daemon socket>/s/<hex sha256(address/ns/group)>`.
 * Never under /run/containerd, so that shims of different daemons (and tests) stay apart. A
 * `shim_cgroup` in the runtime options makes a group of its own (within the group): the server
 * is put in that cgroup when it starts, so it serves only containers that asked for it.
 */
export function shimSocketPath(daemonAddress: string, namespace: string, group: string, shimCgroup = ""): string {
  const address = daemonAddress.replace(/^unix:\/\//, "");
  const key = `${address}/${namespace}/${group}${shimCgroup === "" ? "" : `\nshim_cgroup=${shimCgroup}`}`;
  const digest = createHash("sha256").update(key).digest("hex");
  const path = join(dirname(address), "s", digest);
  if (Buffer.byteLength(path) > maxSocketPath) {
    // (A plain error: `start` loads as little as it can, and containerd reports it as it is.)
    throw new Error(`shim socket path ${path} is longer than ${maxSocketPath} bytes: the daemon socket's directory is too deep`);
  }
  return path;
}

/** Whether something accepts connections on the unix socket `path`. */
export function socketAnswers(path: string, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
