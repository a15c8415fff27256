import { invalidArgument, notFound } from "./errors.js";

/**
 * `google.protobuf.Any` as the generated code has it, declared here so that the contracts load and
 * type-check without protobuf; known-types.ts checks that it still matches the generated one.
 */
export interface Any {
  /** A bare (`containerd.events.TaskExit`) or prefixed (`type.googleapis.com/…`) type URL. */
  typeUrl: string;
  value: Buffer;
}

/**
 * The encode/decode pair ts-proto generates for each message, seen without protobuf's own types
 * (its writer is anything that `finish`es into bytes).
 */
export interface MessageType<T = unknown> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  /** Proto3 JSON (field names in lowerCamelCase); generated types have it. */
  toJSON?(message: T): unknown;
}

/** A generated module: its proto package name and its message types among other exports. */
export interface ProtoModule {
  readonly protobufPackage: string;
  readonly [name: string]: unknown;
}

/** The JSON-encoded OCI types containerd carries in `Any`; their values are JSON, not protobuf. */
export const jsonTypeUrls = {
  runtimeSpec: "types.containerd.io/opencontainers/runtime-spec/1/Spec",
  process: "types.containerd.io/opencontainers/runtime-spec/1/Process",
  linuxResources: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
  windowsResources: "types.containerd.io/opencontainers/runtime-spec/1/WindowsResources",
} as const;

const googlePrefix = "type.googleapis.com/";

function isMessageType(value: unknown): value is MessageType {
  const candidate = value as Partial<MessageType> | undefined;
  return typeof candidate?.encode === "function" && typeof candidate.decode === "function";
}

/**
 * Maps type URLs to message types. containerd uses bare type URLs (the full message name,
 * e.g. `containerd.events.TaskExit`, with no `type.googleapis.com/` prefix); ctr 1.6 cannot
 * decode anything else, so `pack` always emits bare names. `unpack` also accepts the prefixed
 * form that newer clients may send.
 */
export class TypeRegistry {
  readonly #types = new Map<string, MessageType>();

  register(typeUrl: string, type: MessageType): this {
    this.#types.set(typeUrl, type);
    return this;
  }

  /** Registers every top-level message of a generated module under `<package>.<Name>`. */
  registerModule(module: ProtoModule): this {
    for (const [name, value] of Object.entries(module)) {
      // Nested messages are exported as Outer_Inner; they never travel alone in an Any.
      if (!name.includes("_") && /^[A-Z]/.test(name) && isMessageType(value)) {
        this.register(`${module.protobufPackage}.${name}`, value);
      }
    }
    return this;
  }

  has(typeUrl: string): boolean {
    return this.#types.has(bareTypeUrl(typeUrl));
  }

  pack<T>(typeUrl: string, message: T): Any {
    const type = this.#types.get(typeUrl) as MessageType<T> | undefined;
    if (type === undefined) throw notFound(`type with url ${typeUrl}`);
    return { typeUrl, value: Buffer.from(type.encode(message).finish()) };
  }

  /** The message type registered for `typeUrl` (bare or prefixed), if any. */
  lookup(typeUrl: string): MessageType | undefined {
    return this.#types.get(bareTypeUrl(typeUrl));
  }

  unpack<T = unknown>(any: Any): T {
    const type = this.#types.get(bareTypeUrl(any.typeUrl));
    if (type === undefined) throw notFound(`type with url ${any.typeUrl}`);
    try {
      return type.decode(any.value) as T;
    } catch (error) {
      throw invalidArgument(`cannot decode ${any.typeUrl}: ${(error as Error).message}`);
    }
  }
}

export function bareTypeUrl(typeUrl: string): string {
  return typeUrl.startsWith(googlePrefix) ? typeUrl.slice(googlePrefix.length) : typeUrl;
}

export function packJson(typeUrl: string, value: unknown): Any {
  return { typeUrl, value: Buffer.from(JSON.stringify(value)) };
}

export function unpackJson<T = unknown>(any: Any): T {
  try {
    return JSON.parse(Buffer.from(any.value).toString("utf8")) as T;
  } catch (error) {
    throw invalidArgument(`${any.typeUrl}: value is not JSON: ${(error as Error).message}`);
  }
}
