import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from "node:http";

/** One exchange the proxy saw: what was asked, what came back, and how many body bytes it passed on. */
export interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  readonly range: string | undefined;
  status: number;
  bytes: number;
}

export interface RegistryProxyOptions {
  /** Flip the first body byte of every GET of this blob (same length: only the digest tells). */
  readonly corrupt?: string;
}

export interface RunningRegistryProxy {
  /** `127.0.0.1:PORT`, for references through the proxy. */
  readonly host: string;
  readonly requests: ProxiedRequest[];
  /** GETs of one blob (by digest). */
  blobGets(digest: string): ProxiedRequest[];
  /** Stop a blob's GET bodies after `bytes` bytes, holding the connection open; `undefined` lifts it. */
  stall(digest: string, bytes: number | undefined): void;
  close(): Promise<void>;
}

/**
 * A streaming HTTP proxy on 127.0.0.1 in front of a registry (`upstream` host:port) that counts
 * requests and body bytes, and can stall or corrupt a blob: for resume and verification tests.
 */
export async function startRegistryProxy(upstream: string, options: RegistryProxyOptions = {}): Promise<RunningRegistryProxy> {
  const requests: ProxiedRequest[] = [];
  const stalls = new Map<string, number>();
  const open = new Set<ServerResponse>();
  const [upstreamHost = "", upstreamPort = ""] = upstream.split(":");
  let proxyHost = "";
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const record: ProxiedRequest = { method: req.method ?? "", url: req.url ?? "", range: req.headers.range, status: 0, bytes: 0 };
    requests.push(record);
    open.add(res);
    res.once("close", () => open.delete(res));
    const digest = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? "")?.[1];
    const forward = request(
      { host: upstreamHost, port: Number(upstreamPort), method: req.method, path: req.url, headers: { ...req.headers, host: upstream } },
      (upstreamRes) => {
        record.status = upstreamRes.statusCode ?? 500;
        const headers = { ...upstreamRes.headers };
        // Redirects and upload locations must come back through the proxy.
        if (typeof headers.location === "string") headers.location = headers.location.replace(`//${upstream}`, `//${proxyHost}`);
        res.writeHead(record.status, headers);
        let first = true;
        upstreamRes.on("data", (chunk: Buffer) => {
          let out = chunk;
          if (first && digest !== undefined && digest === options.corrupt && req.method === "GET" && out.length > 0) {
            out = Buffer.from(out);
            out[0] = out[0]! ^ 0xff;
          }
          first = false;
          const limit = digest === undefined ? undefined : stalls.get(digest);
          if (limit !== undefined) {
            if (record.bytes >= limit) {
              upstreamRes.pause();
              return;
            }
            out = out.subarray(0, limit - record.bytes);
          }
          record.bytes += out.length;
          if (!res.write(out)) {
            upstreamRes.pause();
            res.once("drain", () => upstreamRes.resume());
          }
        });
        upstreamRes.on("end", () => res.end());
        upstreamRes.on("error", () => res.destroy());
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  proxyHost = `127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  return {
    host: proxyHost,
    requests,
    blobGets: (digest) => requests.filter((r) => r.method === "GET" && r.url.endsWith(`/blobs/${digest}`)),
    stall: (digest, bytes) => (bytes === undefined ? stalls.delete(digest) : stalls.set(digest, bytes)),
    close: () =>
      new Promise((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
