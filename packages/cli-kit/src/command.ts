// Subpaths: the package entry also loads semver to check the Node version, on every start.
import { Command } from "@oclif/core/command";
import * as Flags from "@oclif/core/flags";
import type { Client } from "@berth/client";
import type { Input, OutputArgs, OutputFlags, ParserOutput } from "@oclif/core/interfaces";

/** Go durations as ctr takes them: "10s", "1m30s", "500ms"; a bare number is seconds. */
export function parseDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g, (_, value: string, unit: string) => {
    total += Number(value) * units[unit]!;
    return "";
  });
  if (rest !== "" || text === "") throw new Error(`invalid duration ${JSON.stringify(text)}`);
  return total;
}

/**
 * What every command of ctr and dist shares: ctr's global options (also accepted after the command), a client
 * connected to them, and ctr's way of reporting errors: `ctr: <message>` and exit status 1.
 */
export abstract class CtrCommand extends Command {
  static override baseFlags = {
    address: Flags.string({ char: "a", description: "address for containerd's GRPC server", env: "CONTAINERD_ADDRESS", helpGroup: "GLOBAL" }),
    namespace: Flags.string({ char: "n", description: "namespace to use with commands", env: "CONTAINERD_NAMESPACE", helpGroup: "GLOBAL" }),
    timeout: Flags.string({ description: "total timeout for ctr commands", helpGroup: "GLOBAL", env: "BERTH_CTR_TIMEOUT" }),
    "connect-timeout": Flags.string({ description: "timeout for connecting to containerd", helpGroup: "GLOBAL", env: "BERTH_CTR_CONNECT_TIMEOUT" }),
  };

  /**
   * Set by the commands that stream image layers through this process (pull, push, import, export,
   * content get/ingest): the layers' ArrayBuffers count against V8's old-generation limit, and with
   * the default heap growth that meant a full GC every few MB. The others keep V8's defaults, as a
   * changed V8 flag costs a short command a noticeable part of its start-up.
   */
  static streamsLayers = false;

  #client: Client | undefined;

  override async init(): Promise<void> {
    // node:v8 only where used: importing it costs every other command a few built-in modules.
    if ((this.constructor as typeof CtrCommand).streamsLayers) (await import("node:v8")).setFlagsFromString("--heap-growing-percent=300");
    await super.init();
  }

  protected async connect(flags: { address?: string | undefined; namespace?: string | undefined; "connect-timeout"?: string | undefined }): Promise<Client> {
    // Loaded only when a command talks to the daemon, so that `--help` starts fast.
    const { Client, resolveAddress, resolveNamespace } = await import("@berth/client/connect");
    this.#client = await Client.connect({
      address: resolveAddress(flags.address),
      namespace: resolveNamespace(flags.namespace),
      connectTimeoutMs: flags["connect-timeout"] ? parseDuration(flags["connect-timeout"]) : 10_000,
    });
    return this.#client;
  }

  /** Applies --timeout to the whole command, as ctr's context deadline does. */
  protected deadline(flags: { timeout?: string | undefined }): number | undefined {
    return flags.timeout ? Date.now() + parseDuration(flags.timeout) : undefined;
  }

  /** oclif orders `argv` by each word's first position, which misplaces a repeated word (`run IMAGE x echo x`): keep the typed order. */
  protected override async parse<F extends OutputFlags<any>, B extends OutputFlags<any>, A extends OutputArgs<any>>(
    options?: Input<F, B, A>,
    argv?: string[],
  ): Promise<ParserOutput<F, B, A>> {
    const output = await super.parse(options, argv);
    return { ...output, argv: output.raw.filter((token) => token.type === "arg").map((token) => token.input) };
  }

  protected print(text: string): void {
    process.stdout.write(text);
  }

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    if (error.oclif?.exit !== undefined && error.message.startsWith("EEXIT")) throw error;
    process.stderr.write(`${this.config.bin}: ${error.message}\n`);
    process.exitCode = 1;
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    this.#client?.close();
    await super.finally(error);
  }
}
