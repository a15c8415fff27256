import { invalidArgument, notFound } from "@berth/api";
import type { criV1 } from "@berth/api/cri";

/** What the CRI keeps of a pod sandbox; `config` and the network are persisted in the container record's extension. */
export interface SandboxRecord {
  readonly id: string;
  readonly name: string;
  readonly config: criV1.PodSandboxConfig;
  readonly runtimeHandler: string;
  netnsPath: string;
  ip: string;
  additionalIps: string[];
  cniResult: unknown;
  state: "ready" | "notready";
  pid: number;
  createdAt: number;
  /** Resolves when the sandbox's task has exited and been cleaned up. */
  exited?: Promise<void>;
}

/** A container's status, as containerd's status file holds it (nanoseconds since the epoch). */
export interface ContainerStatusRecord {
  pid: number;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  unknown?: boolean;
}

export interface ContainerRecord {
  readonly id: string;
  readonly name: string;
  readonly sandboxId: string;
  readonly config: criV1.ContainerConfig;
  readonly imageRef: string;
  readonly imageName: string;
  readonly logPath: string;
  readonly stopSignal: string;
  status: ContainerStatusRecord;
  removing?: boolean;
  /** Resolves when the container's task has exited and its exit is recorded. */
  exited?: Promise<void>;
  /** Swaps the log file (ReopenContainerLog); set while output is being copied. */
  reopenLog?: () => Promise<void>;
  /** The FIFOs of the container's task. */
  io?: { stdin: string; stdout: string; stderr: string; terminal: boolean };
  /** Attach clients: extra writers of the container's output. */
  attached?: Set<{ stdout?: import("node:stream").Writable | undefined; stderr?: import("node:stream").Writable | undefined }>;
  /** Stops copying output (the task is gone). */
  closeIO?: () => void;
}

/**
 * Records by id, looked up by any unique prefix as containerd's truncindex does. An empty id is
 * an error, an ambiguous prefix too; no match is NotFound.
 */
export class IdIndex<T extends { readonly id: string; readonly name: string }> {
  readonly #byId = new Map<string, T>();
  readonly #names = new Map<string, string>();

  constructor(private readonly kind: string) {}

  reserve(name: string, id: string): void {
    const holder = this.#names.get(name);
    if (holder !== undefined && holder !== id)
      throw new Error(`failed to reserve ${this.kind} name ${JSON.stringify(name)}: name ${JSON.stringify(name)} is reserved for ${JSON.stringify(holder)}`);
    this.#names.set(name, id);
  }

  release(name: string): void {
    this.#names.delete(name);
  }

  add(record: T): void {
    this.#byId.set(record.id, record);
    this.#names.set(record.name, record.id);
  }

  delete(id: string): void {
    const record = this.#byId.get(id);
    this.#byId.delete(id);
    if (record !== undefined && this.#names.get(record.name) === id) this.#names.delete(record.name);
  }

  /** The record whose id is `idOrPrefix` or starts with it. */
  get(idOrPrefix: string): T {
    if (idOrPrefix === "") throw invalidArgument(`${this.kind} id: Prefix can't be empty`);
    const exact = this.#byId.get(idOrPrefix);
    if (exact !== undefined) return exact;
    const matches = [...this.#byId.values()].filter((r) => r.id.startsWith(idOrPrefix));
    if (matches.length > 1) throw new Error(`${this.kind} id ${JSON.stringify(idOrPrefix)}: multiple ID's found with provided prefix`);
    if (matches.length === 0) throw notFound(`an error occurred when try to find ${this.kind} ${JSON.stringify(idOrPrefix)}: not found`);
    return matches[0]!;
  }

  find(idOrPrefix: string): T | undefined {
    try {
      return this.get(idOrPrefix);
    } catch {
      return undefined;
    }
  }

  list(): T[] {
    return [...this.#byId.values()];
  }
}

export const nowNanos = (): number => Date.now() * 1e6;

export const labelsMatch = (labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>> | undefined): boolean =>
  Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
