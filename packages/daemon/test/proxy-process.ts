// A proxy plugin in its own process, for the proxy_plugins tests.
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { spawnTracked, stopProcess, waitUntil } from "@berth/testkit";

// The out-of-tree plugin, as a third party would write it: a few lines over Berth's packages.
const require = createRequire(import.meta.url);
const moduleUrl = (name: string) => JSON.stringify(pathToFileURL(require.resolve(name)).href);
const proxyScript = `
const { serveSnapshotter, serveContentStore } = await import(${moduleUrl("@berth/daemon")});
const { NativeSnapshotter } = await import(${moduleUrl("@berth/snapshotter-native")});
const { LocalContentStore } = await import(${moduleUrl("@berth/content")});
const [kind, root, address] = process.argv.slice(2);
const server = kind === "snapshot"
  ? await serveSnapshotter({ snapshotter: await NativeSnapshotter.open(root), address })
  : await serveContentStore({ store: await LocalContentStore.open(root), address });
process.once("SIGTERM", () => server.close().then(() => process.exit(0)));
process.stdout.write("serving\\n");
`;

/** Writes the proxy plugin script into `directory`; returns its path. */
export function writeProxyScript(directory: string): string {
  const path = join(directory, "proxy.mjs");
  writeFileSync(path, proxyScript);
  return path;
}

/** A proxy plugin process serving `kind` from `root` on `address`, restartable after a kill. */
export class ProxyProcess {
  #child: ChildProcess | undefined;
  constructor(
    private readonly script: string,
    private readonly kind: "snapshot" | "content",
    readonly root: string,
    readonly address: string,
  ) {}

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async start(): Promise<void> {
    const child = spawnTracked(process.execPath, [this.script, this.kind, this.root, this.address]);
    this.#child = child;
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk));
    await waitUntil(`the ${this.kind} proxy to serve ${this.address}`, async () => {
      if (child.exitCode !== null) throw new Error(`proxy exited: ${output}`);
      return output.includes("serving\n");
    });
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    if (this.#child !== undefined) await stopProcess(this.#child);
  }
}
