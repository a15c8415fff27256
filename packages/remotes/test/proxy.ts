import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";

/** What a test proxy may do to one exchange: answer itself, or rewrite the upstream response. */
export interface ProxyHooks {
  /** Answer the request directly (return true) instead of forwarding it. */
  intercept?(req: IncomingMessage, res: ServerResponse): boolean;
  /** Rewrite the upstream body (whole) and headers before they reach the client. */
  rewrite?(req: IncomingMessage, status: number, headers: Record<string, string | string[] | undefined>, body: Buffer): Buffer;
}

export interface RunningProxy {
  readonly host: string;
  readonly requests: { method: string; url: string; headers: IncomingMessage["headers"] }[];
  close(): Promise<void>;
}

/** A tiny HTTP proxy on 127.0.0.1 in front of `upstream` (host:port), for fault injection. */
export async function startProxy(upstream: string, hooks: ProxyHooks = {}): Promise<RunningProxy> {
  const requests: RunningProxy["requests"] = [];
  const [upstreamHost = "", upstreamPort = ""] = upstream.split(":");
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    if (hooks.intercept?.(req, res)) return;
    const forward = request(
      { host: upstreamHost, port: Number(upstreamPort), method: req.method, path: req.url, headers: { ...req.headers, host: upstream } },
      (upstreamRes) => {
        const chunks: Buffer[] = [];
        upstreamRes.on("data", (chunk: Buffer) => chunks.push(chunk));
        upstreamRes.on("end", () => {
          const headers = { ...upstreamRes.headers };
          let body: Buffer = Buffer.concat(chunks);
          if (hooks.rewrite) body = hooks.rewrite(req, upstreamRes.statusCode ?? 500, headers, body);
          if (req.method !== "HEAD" && headers["content-length"] !== undefined) headers["content-length"] = String(body.byteLength);
          // Redirects to the upstream would bypass the proxy.
          if (typeof headers.location === "string") headers.location = headers.location.replace(`//${upstream}`, `//${proxyHost}`);
          res.writeHead(upstreamRes.statusCode ?? 500, headers);
          res.end(req.method === "HEAD" ? undefined : body);
        });
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const proxyHost = `127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  return {
    host: proxyHost,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}
