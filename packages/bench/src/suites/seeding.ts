import { type CallContext, isKind } from "@berth/api";
import type { Client } from "@berth/client";

/** Creates namespace `name` unless it exists. */
export async function ensureNamespace(client: Client, context: CallContext, name: string): Promise<void> {
  try {
    await client.namespaces.create(context, { name, labels: {} });
  } catch (error) {
    if (!isKind(error, "AlreadyExists")) throw error;
  }
}

/** Calls `create(index)` for every index below `count`, with at most `inFlight` calls at once. */
export async function createAll(count: number, inFlight: number, create: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await create(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
}
