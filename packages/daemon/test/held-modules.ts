import { request } from "node:http";

/**
 * The module files a running berthd holds, read from a heap snapshot of its `[debug]` endpoint: V8
 * keeps the script of every module loaded, named by its file (a file:// URL for an ES module, a
 * path for a CommonJS one, `node:…` for Node's own). Returned as paths and `node:` names.
 */
export async function modulesHeldBy(debugSocket: string): Promise<string[]> {
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
