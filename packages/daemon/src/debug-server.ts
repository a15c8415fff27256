import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { Session } from "node:inspector";
import { chmod, chown, mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import { getHeapSnapshot } from "node:v8";
import type { Logger } from "./log.js";

// As in metrics/http.ts: http without its ESM facade, which would load undici.
const { createServer } = process.getBuiltinModule("node:http");

/**
 * berthd's answer to containerd's `[debug] address`: containerd serves Go's pprof there; berthd is a
 * Node process, so the same paths give V8's equivalents, which Chrome DevTools and `node --prof`
 * tooling read: `/debug/pprof/heap` a heap snapshot (.heapsnapshot JSON) and
 * `/debug/pprof/profile?seconds=N` a CPU profile of N seconds (.cpuprofile JSON). Go-only profiles
 * (goroutine, block, threadcreate, trace) are 404.
 */
export interface DebugServer {
  readonly address: string;
  close(): Promise<void>;
}

const maxProfileSeconds = 3600;

function fail(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" }).end(`${message}\n`);
}

/** A CPU profile of this process over `seconds`, through the inspector's Profiler in-process. */
async function cpuProfile(seconds: number): Promise<unknown> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  try {
    await post("Profiler.enable");
    await post("Profiler.start");
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const { profile } = (await post("Profiler.stop")) as { profile: unknown };
    return profile;
  } finally {
    session.disconnect();
  }
}

async function handle(request: IncomingMessage, response: ServerResponse, logger: Logger): Promise<void> {
  const url = new URL(request.url ?? "/", "http://debug");
  if (request.method !== "GET") return fail(response, 405, "method not allowed");
  switch (url.pathname) {
    case "/debug/pprof/heap": {
      response.writeHead(200, { "content-type": "application/octet-stream", "content-disposition": 'attachment; filename="berthd.heapsnapshot"' });
      await pipeline(getHeapSnapshot(), response);
      return;
    }
    case "/debug/pprof/profile": {
      // As Go's pprof handler: a missing, unparsable or non-positive duration means 30 seconds.
      const asked = Number(url.searchParams.get("seconds") ?? "");
      const seconds = Number.isFinite(asked) && asked > 0 ? asked : 30;
      if (seconds > maxProfileSeconds) return fail(response, 400, `seconds: ${seconds} is more than ${maxProfileSeconds}`);
      logger.info({ seconds }, "CPU profile requested");
      const profile = await cpuProfile(seconds);
      response
        .writeHead(200, { "content-type": "application/octet-stream", "content-disposition": 'attachment; filename="berthd.cpuprofile"' })
        .end(JSON.stringify(profile));
      return;
    }
    default:
      return fail(response, 404, `${url.pathname}: not served by berthd (a Node process: /debug/pprof/heap and /debug/pprof/profile only)`);
  }
}

/** Serves the debug endpoints on the unix socket `address` (replacing a stale one), mode 0660 and owned by uid:gid. */
export async function serveDebug(address: string, owner: { uid: number; gid: number }, logger: Logger): Promise<DebugServer> {
  await mkdir(dirname(address), { recursive: true, mode: 0o711 });
  await rm(address, { force: true });
  const server: Server = createServer((request, response) => {
    handle(request, response, logger).catch((error: Error) => {
      logger.error({ err: error, path: request.url }, "debug request failed");
      if (!response.headersSent) fail(response, 500, error.message);
      else response.destroy(error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  await chmod(address, 0o660);
  if (owner.uid !== 0 || owner.gid !== 0) await chown(address, owner.uid, owner.gid);
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
