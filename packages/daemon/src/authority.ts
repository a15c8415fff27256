import { type Socket, createServer } from "node:net";
import { grpc } from "@berth/api/services";
import { type FirstRequest, emptySettingsFrame, readFirstRequest } from "./first-request.js";

/*
 * grpc-go clients on a unix socket (kubelet, crictl, critest) send the socket's path as the
 * HTTP/2 `:authority`. nghttp2, inside Node, rejects an authority holding `/` and resets the
 * stream before any JavaScript sees it, and Node has no option to turn that check off. So each
 * accepted connection is read up to its first request (`readFirstRequest`); when that request's
 * authority is a valid host (containerd's Go client sends `localhost`), the socket itself goes to the
 * server. Otherwise the connection passes through this filter: it decodes every request header block
 * with the client's HPACK state, replaces an authority that is not a valid host with `localhost`,
 * and re-encodes the block with a second HPACK state that mirrors nghttp2's decoder. Every other
 * frame passes through byte for byte. The HPACK code (authority-filter.ts) loads with the first request
 * a client sends: a daemon no client has talked to does not hold it.
 */

/** How long an idle new connection may wait for its first request before it goes through the filter anyway. */
const FIRST_REQUEST_WAIT_MS = 2000;

/** authority-filter.ts, once the first connection that sent a request has asked for it. */
let filterModule: Promise<typeof import("./authority-filter.js")> | undefined;

/**
 * A connection whose first request needs no rewrite (containerd's Go client, Docker, grpc-js) is
 * handed to the server as the socket itself, with what was read put back: no JavaScript stream in
 * its path. Any other goes through acceptPathAuthorities.
 */
async function accept(injector: grpc.ConnectionInjector, socket: Socket): Promise<void> {
  socket.write(emptySettingsFrame);
  // The filter loads once a first request has come (testkit's and other probes that only connect
  // bring none). Until the socket is handed over, an error on it must not go unheard: it would
  // crash the daemon.
  const destroy = () => socket.destroy();
  socket.on("error", destroy);
  let first: FirstRequest;
  let filter: Awaited<NonNullable<typeof filterModule>>;
  try {
    first = await readFirstRequest(socket, FIRST_REQUEST_WAIT_MS);
    filter = await (filterModule ??= import("./authority-filter.js"));
  } catch {
    socket.destroy();
    return;
  } finally {
    socket.off("error", destroy);
  }
  if (first.headerBlock !== undefined && first.acknowledged && !filter.needsAuthorityRewrite(first.headerBlock)) {
    socket.unshift(first.bytes);
    injector.injectConnection(socket);
    return;
  }
  injector.injectConnection(filter.acceptPathAuthorities(socket, { bytes: first.bytes, dropSettingsAck: !first.acknowledged }));
}

/**
 * Serves `server` on the unix socket `path` through acceptPathAuthorities. The listener closes
 * with the server (its tryShutdown and forceShutdown).
 */
export async function listenAcceptingPathAuthorities(server: grpc.Server, path: string): Promise<void> {
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = createServer((socket) => void accept(injector, socket));
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(path, () => {
      listener.off("error", reject);
      resolve();
    });
  });
  const tryShutdown = server.tryShutdown.bind(server);
  const forceShutdown = server.forceShutdown.bind(server);
  server.tryShutdown = (callback) => {
    listener.close();
    tryShutdown(callback);
  };
  server.forceShutdown = () => {
    listener.close();
    forceShutdown();
  };
}
