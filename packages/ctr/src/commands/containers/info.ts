import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import type { Any, Container } from "@berth/api";
import { aliases, CtrCommand } from "@berth/cli-kit";
import { goIndentedJson, goRfc3339Nano } from "../../format/go-values.js";

const anyJson = (any: Any | undefined) =>
  any === undefined ? null : { type_url: any.typeUrl, ...(any.value.length > 0 ? { value: Buffer.from(any.value).toString("base64") } : {}) };

/** Go writes the keys of a map sorted. */
const sortedKeys = <T>(map: Readonly<Record<string, T>>) => Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** containerd's containers.Container as ctr prints it: Go field names, empty maps as null, the spec decoded last. */
async function containerJson(container: Container): Promise<unknown> {
  const { specInGoOrder } = await import("@berth/client");
  const { unpackJson } = await import("@berth/api");
  const extensions = Object.entries(container.extensions);
  const fields: Record<string, unknown> = {
    ID: container.id,
    Labels: Object.keys(container.labels).length > 0 ? sortedKeys(container.labels) : null,
    Image: container.image,
    Runtime: { Name: container.runtime.name, Options: anyJson(container.runtime.options) },
  };
  // Without a decodable spec ctr prints the record itself, where the spec sits after the runtime.
  const spec = container.spec !== undefined && container.spec.value.length > 0 ? specInGoOrder(unpackJson(container.spec)) : undefined;
  if (spec === undefined) fields.Spec = anyJson(container.spec);
  Object.assign(fields, {
    SnapshotKey: container.snapshotKey,
    Snapshotter: container.snapshotter,
    CreatedAt: goRfc3339Nano(container.createdAt),
    UpdatedAt: goRfc3339Nano(container.updatedAt),
    Extensions: extensions.length > 0 ? sortedKeys(Object.fromEntries(extensions.map(([key, any]) => [key, anyJson(any)]))) : null,
  });
  if (spec !== undefined) fields.Spec = spec;
  return fields;
}

export class ContainersInfo extends CtrCommand {
  static override summary = "get info about a container";
  static override aliases = aliases(["containers", "container", "c"], ["info"]);
  static override args = { id: Args.string({ required: true, description: "container id" }) };
  static override flags = { spec: Flags.boolean({ description: "only display the spec" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainersInfo);
    const client = await this.connect(flags);
    const container = await client.containers.get(client.context(), args.id);
    if (flags.spec) {
      const { specInGoOrder } = await import("@berth/client");
      const { unpackJson } = await import("@berth/api");
      this.print(`${goIndentedJson(specInGoOrder(unpackJson(container.spec ?? { typeUrl: "", value: Buffer.from("null") })))}\n`);
      return;
    }
    this.print(`${goIndentedJson(await containerJson(container))}\n`);
  }
}
