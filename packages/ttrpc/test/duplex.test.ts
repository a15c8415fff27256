import { duplexPair } from "node:stream";
import { eventsTtrpcV1 } from "@berth/api/proto";
import { TtrpcClient, TtrpcServer, isNamedPipe, socketPathOf, ttrpcServiceClient } from "@berth/ttrpc";
import { describe, expect, it } from "vitest";

describe("ttrpc over any duplex stream", () => {
  it("serves and calls over an in-process pair, which carries no peer credentials to check", async () => {
    const errors: Error[] = [];
    const topics: string[] = [];
    const server = new TtrpcServer({ onError: (error) => errors.push(error) });
    server.register(eventsTtrpcV1.EventsDefinition, {
      forward: async ({ envelope }) => {
        topics.push(envelope?.topic ?? "");
        return {};
      },
    });
    const [near, far] = duplexPair();
    server.serve(far);
    const client = new TtrpcClient(near);
    await ttrpcServiceClient(eventsTtrpcV1.EventsDefinition, client).forward({
      envelope: { timestamp: undefined, namespace: "n", topic: "/tasks/exit", event: undefined },
    });
    expect(topics).toEqual(["/tasks/exit"]);
    client.close();
    await client.closed;
    await server.close();
    expect(errors).toEqual([]);
  });

  it("reads Windows pipe addresses as net.connect dials them", () => {
    expect(socketPathOf("npipe://./pipe/containerd-shim-default-w1-pipe")).toBe("\\\\.\\pipe\\containerd-shim-default-w1-pipe");
    expect(socketPathOf("\\\\.\\pipe\\ProtectedPrefix\\Administrators\\containerd-shim-ns-id-pipe")).toBe(
      "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\containerd-shim-ns-id-pipe",
    );
    expect(socketPathOf("unix:///run/x.sock")).toBe("/run/x.sock");
    expect(isNamedPipe("\\\\.\\pipe\\containerd-containerd.ttrpc")).toBe(true);
    expect(isNamedPipe("/run/berth/berthd.sock.ttrpc")).toBe(false);
  });
});
