import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { criV1 } from "@berth/api/proto";
import type { CriContext } from "./context.js";

const notYet = async (socket: Duplex) => {
  socket.end("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n");
};

export async function serveExec(_context: CriContext, _request: criV1.ExecRequest, _http: IncomingMessage, socket: Duplex, _head: Buffer): Promise<void> {
  await notYet(socket);
}

export async function serveAttach(_context: CriContext, _request: criV1.AttachRequest, _http: IncomingMessage, socket: Duplex, _head: Buffer): Promise<void> {
  await notYet(socket);
}

export async function servePortForward(_context: CriContext, _request: criV1.PortForwardRequest, _http: IncomingMessage, socket: Duplex, _head: Buffer): Promise<void> {
  await notYet(socket);
}
