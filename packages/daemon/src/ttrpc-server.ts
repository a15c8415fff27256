import { chown } from "node:fs/promises";
import { TtrpcServer, isNamedPipe } from "@berth/ttrpc";
import type { Logger } from "./log.js";
import type { TtrpcService } from "./plugins/types.js";
import type { RunningServer } from "./server.js";
import { claimSocketPath } from "./server.js";

/**
 * The socket shims call back on (`<grpc address>.ttrpc` unless configured): mode 0660 like the
 * gRPC socket, and only peers of the daemon's own uid/gid are served (SO_PEERCRED).
 */
export async function serveTtrpc(services: readonly TtrpcService[], address: string, uid: number, gid: number, logger: Logger): Promise<RunningServer> {
  await claimSocketPath(address, "ttrpc.address");
  const server = new TtrpcServer({ onError: (error) => logger.warn({ err: error }, "ttrpc") });
  for (const { definition, handlers } of services) server.register(definition, handlers);
  await server.listen({ path: address, mode: 0o660 });
  if (!isNamedPipe(address)) await chown(address, uid, gid);
  return { close: () => server.close() };
}
