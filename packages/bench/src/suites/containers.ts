import type { CallContext } from "@berth/api";
import { type Client, defaultSpec, specAny } from "@berth/client";
import type { CommandResult, CtrSession } from "@berth/testkit";
import { withTimeout } from "../measure.js";
import { medianWallMs } from "./cli.js";
import { createAll, ensureNamespace } from "./seeding.js";

export interface ContainerSeedOptions {
  readonly count?: number;
  /** Every `labelEvery`-th container is labelled x=y, the others x=z. */
  readonly labelEvery?: number;
  /** The image the records name (nothing is pulled or unpacked for them). */
  readonly image: string;
  readonly inFlight?: number;
  readonly timeoutMs?: number;
}

/**
 * Creates `count` container records in `namespace` through the Containers API, each with
 * containerd's default spec for its id and the runc v2 runtime, and no snapshot or task.
 * Returns how many carry the label x=y.
 */
export async function seedContainers(client: Client, namespace: string, options: ContainerSeedOptions): Promise<number> {
  const { count = 1000, labelEvery = 10, image, inFlight = 16, timeoutMs = 60_000 } = options;
  const abort = new AbortController();
  const context: CallContext = { namespace, signal: abort.signal };
  let created = 0;
  const run = async () => {
    await ensureNamespace(client, context, namespace);
    await createAll(count, inFlight, async (index) => {
      const id = `bench-container-${String(index).padStart(4, "0")}`;
      const spec = defaultSpec(namespace, id);
      await client.containers.create(context, {
        id,
        labels: { x: index % labelEvery === 0 ? "y" : "z" },
        image,
        runtime: { name: "io.containerd.runc.v2", options: undefined },
        spec: specAny({ ...spec, process: { ...spec.process!, args: ["true"] } }),
        snapshotter: "",
        snapshotKey: "",
        extensions: {},
        sandbox: "",
      });
      created++;
    });
    return Math.ceil(count / labelEvery);
  };
  return withTimeout(
    run(),
    timeoutMs,
    () => `creating ${count} containers (${created} created)`,
    () => abort.abort(),
  );
}

/**
 * Median wall time in ms of `runs` runs of `ctr containers ls [filters...]` in the session's
 * namespace, after one untimed run; each run must list `expected` containers.
 */
export function ctrContainersLsMs(
  session: CtrSession,
  filters: readonly string[],
  options: { expected: number; runs?: number; timeoutMs?: number },
): Promise<number> {
  const args = session.args("containers", "ls", ...filters);
  const check = (result: CommandResult) => {
    const listed = result.stdout.split("\n").filter((line) => line.startsWith("bench-container-")).length;
    if (listed !== options.expected) throw new Error(`ctr ${args.join(" ")} listed ${listed} containers, not ${options.expected}`);
  };
  return medianWallMs(session.command, args, options.runs ?? 5, { timeoutMs: options.timeoutMs ?? 20_000, check });
}
