import { notImplemented } from "@berth/api";
import type { Client } from "@berth/client";
import type { GrpcService } from "./types.js";

/**
 * A Client whose calls run `services`' handlers in this process (no socket, no serialisation):
 * how the daemon's own plugins (the CRI, the transfer service) use its services through the same
 * client code as a remote caller. The client library is loaded here, not with the daemon.
 */
export async function localClient(services: Iterable<GrpcService>, options: { namespace: string; address: string }, owner: string): Promise<Client> {
  const [{ createLocalServiceClient }, { Client }] = await Promise.all([import("@berth/api/services"), import("@berth/client/connect")]);
  const byName = new Map<string, GrpcService>();
  for (const service of services) byName.set(service.definition.fullName, service);
  return Client.local((definition, defaults) => {
    const service = byName.get(definition.fullName);
    // A service the owner was not given fails its calls, not the client's construction.
    const missing = () => {
      throw notImplemented(`${owner}: no ${definition.fullName} in-process`);
    };
    const handlers = service?.handlers ?? Object.fromEntries(Object.keys(definition.methods).map((key) => [key, missing]));
    return createLocalServiceClient(definition, handlers as never, defaults);
  }, options);
}
