import { rmSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { type BerthdOptions, type RunningDaemon, startBerthd, testDirectory } from "@berth/testkit";

/**
 * The module files a running berthd holds, read from a heap snapshot of its `[debug]` endpoint: V8
 * keeps the script of every module loaded, named by its file (a file:// URL for an ES module, a
 * path for a CommonJS one, `node:…` for Node's own). Returned as paths and `node:` names.
 */
async function modulesHeldBy(debugSocket: string): Promise<string[]> {
  const body = await new Promise<string>((resolve, reject) => {
    request({ socketPath: debugSocket, path: "/debug/pprof/heap" }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      response.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
  const { strings } = JSON.parse(body) as { strings: string[] };
  const files = strings.filter((text) => /^(file:\/\/)?\/\S+\.[cm]?js$|^node:[\w/]+$/.test(text)).map((text) => text.replace(/^file:\/\//, ""));
  return [...new Set(files)];
}

export interface InspectableBerthd {
  readonly daemon: RunningDaemon;
  /** What modulesHeldBy reads now. */
  modules(): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** Starts berthd with `config` and a `[debug]` socket of its own, to read which modules it holds. */
export async function startInspectableBerthd(config = "version = 2\n", options: Omit<BerthdOptions, "config"> = {}): Promise<InspectableBerthd> {
  const directory = testDirectory("debug");
  const debugSocket = join(directory, "debug.sock");
  const removeDirectory = () => rmSync(directory, { recursive: true, force: true });
  let daemon: RunningDaemon;
  try {
    daemon = await startBerthd({ ...options, config: `${config}[debug]\n  address = ${JSON.stringify(debugSocket)}\n` });
  } catch (error) {
    removeDirectory();
    throw error;
  }
  return {
    daemon,
    modules: () => modulesHeldBy(debugSocket),
    async cleanup() {
      await daemon.cleanup();
      removeDirectory();
    },
  };
}
