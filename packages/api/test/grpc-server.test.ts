import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallContext } from "@berth/api";
import { eventsV1, namespacesV1 } from "@berth/api/proto";
import { createServiceClient, grpc, grpcImplementation, grpcServiceDefinition } from "@berth/api/services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** A grpc-js server on a unix socket of its own serving `definition`, and a channel to it; `stop` removes both. */
async function serveOnSocket(
  label: string,
  definition: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
): Promise<{ channel: grpc.Client; stop(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), `berth-test-${label}-`));
  const server = new grpc.Server();
  server.addService(definition, implementation);
  const address = `unix://${join(directory, "s.sock")}`;
  try {
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
    );
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  const channel = new grpc.Client(address, grpc.credentials.createInsecure());
  return {
    channel,
    async stop() {
      channel.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

describe("grpcImplementation: a call's signal", () => {
  const signals: AbortSignal[] = [];
  let release: (() => void) | undefined;
  let served: Awaited<ReturnType<typeof serveOnSocket>> | undefined;
  const client = () => createServiceClient(namespacesV1.NamespacesDefinition, served!.channel, { namespace: "n" });

  beforeAll(async () => {
    const handlers = {
      get: async (request: namespacesV1.GetNamespaceRequest, context: CallContext) => {
        signals.push(context.signal!);
        if (request.name === "hold") await new Promise<void>((resolve) => (release = resolve));
        return { namespace: { name: request.name, labels: {} } };
      },
      list: async () => ({ namespaces: [] }),
      create: async () => ({}),
      update: async () => ({}),
      delete: async () => ({}),
    };
    served = await serveOnSocket(
      "grpc-server",
      grpcServiceDefinition(namespacesV1.NamespacesDefinition),
      grpcImplementation(namespacesV1.NamespacesDefinition, handlers as never),
    );
  });
  afterAll(async () => {
    await served?.stop();
  });

  it("stays unaborted once the call has answered, and aborts when the client cancels a call in progress", async () => {
    for (let i = 0; i < 5; i++) expect((await client().get({ name: `n${i}` })).namespace?.name).toBe(`n${i}`);
    // grpc-js reports a finished call as cancelled when its stream closes: that must not reach the handler.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(signals.map((signal) => signal.aborted)).toEqual([false, false, false, false, false]);

    const cancel = new AbortController();
    const held = client().get({ name: "hold" }, { signal: cancel.signal });
    held.catch(() => undefined);
    for (let i = 0; i < 100 && release === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    cancel.abort();
    await expect(held).rejects.toThrow();
    const heldSignal = signals.at(-1)!;
    for (let i = 0; i < 100 && !heldSignal.aborted; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heldSignal.aborted).toBe(true);
    release?.();
  });
});

describe("grpcImplementation: a response stream", () => {
  const count = 3000;
  let served: Awaited<ReturnType<typeof serveOnSocket>> | undefined;
  const counted = { sent: 0, finished: [] as number[] };

  beforeAll(async () => {
    const handlers = {
      publish: async () => ({}),
      forward: async () => ({}),
      // Yields as fast as the server takes them, so that messages wait in grpc-js's stream and go out in batches.
      async *subscribe() {
        for (let i = 0; i < count; i++)
          yield { timestamp: undefined, namespace: "n", topic: `/t/${i}`, event: { typeUrl: "t", value: Buffer.alloc(i % 64, i % 251) } };
      },
    };
    const observer = {
      forMethod: () => ({ sent: () => void counted.sent++, finished: (code: number) => void counted.finished.push(code) }),
    };
    served = await serveOnSocket(
      "grpc-stream",
      grpcServiceDefinition(eventsV1.EventsDefinition),
      grpcImplementation(eventsV1.EventsDefinition, handlers as never, observer),
    );
  });
  afterAll(async () => {
    await served?.stop();
  });

  it("delivers every message whole and in order, however many wait to go out, and counts each once", async () => {
    const stream = createServiceClient(eventsV1.EventsDefinition, served!.channel, { namespace: "n" }).subscribe({ filters: [] });
    let received = 0;
    for await (const envelope of stream) {
      expect(envelope.topic).toBe(`/t/${received}`);
      expect(Buffer.from(envelope.event!.value)).toEqual(Buffer.alloc(received % 64, received % 251));
      received++;
      // A slow reader now and then, so that the server's writes back up.
      if (received % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(received).toBe(count);
    expect(counted.sent).toBe(count);
    expect(counted.finished).toEqual([0]);
  });
});
