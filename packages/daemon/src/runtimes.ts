import { type CallContext, type CreateTaskOptions, type Exit, type Runtime, type RuntimeTask, isKind, notFound } from "@berth/api";

/**
 * The runtimes berthd serves, seen by the Tasks service as one, as containerd's tasks service picks
 * them: a task is created by the runtime whose id is the container's runtime name (the runtime v1,
 * `io.containerd.runtime.v1.linux`), else by the shim v2 runtime, which serves every other name.
 * Lookups ask each runtime in turn (a task id is unique in its namespace); listings join them.
 */
export class Runtimes implements Runtime {
  readonly id: string;
  readonly #all: readonly Runtime[];
  /** The shim v2 runtime first: it holds nearly every task, and each runtime that misses throws a NotFound (its stack costs ~0.1 ms). */
  readonly #lookupOrder: readonly Runtime[];

  constructor(
    private readonly byName: ReadonlyMap<string, Runtime>,
    private readonly fallback: Runtime,
  ) {
    this.id = fallback.id;
    this.#all = [...byName.values(), fallback];
    this.#lookupOrder = [fallback, ...byName.values()];
  }

  create(context: CallContext, taskId: string, options: CreateTaskOptions): Promise<RuntimeTask> {
    return (this.byName.get(options.runtime) ?? this.fallback).create(context, taskId, options);
  }

  async get(context: CallContext, taskId: string): Promise<RuntimeTask> {
    return (await this.#owner(context, taskId)).get(context, taskId);
  }

  async tasks(context: CallContext, all?: boolean): Promise<RuntimeTask[]> {
    return (await Promise.all(this.#all.map((runtime) => runtime.tasks(context, all)))).flat();
  }

  async delete(context: CallContext, taskId: string): Promise<Exit> {
    return (await this.#owner(context, taskId)).delete(context, taskId);
  }

  async #owner(context: CallContext, taskId: string): Promise<Runtime> {
    for (const runtime of this.#lookupOrder) {
      try {
        await runtime.get(context, taskId);
        return runtime;
      } catch (error) {
        if (!isKind(error, "NotFound")) throw error;
      }
    }
    throw notFound(`task ${taskId}`);
  }
}
