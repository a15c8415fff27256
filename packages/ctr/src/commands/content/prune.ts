import * as Flags from "@oclif/core/flags";
import { CtrCommand } from "@berth/cli-kit";

const layerPrefix = "containerd.io/gc.ref.content.l.";
const contentPrefix = "containerd.io/gc.ref.content.";

/** A GC reference to a layer: `…content.l.<n>`, or the legacy `…content.<n>` other than 0 (the config). */
const isLayerLabel = (key: string) =>
  key.startsWith(layerPrefix) || (key.startsWith(contentPrefix) && /^\d*$/.test(key.slice(contentPrefix.length)) && key.slice(contentPrefix.length) !== "0");

/** logrus's text line for a debug entry when stderr is not a terminal, as ctr writes with --dry. */
function debugLine(message: string, fields: Record<string, string> = {}): string {
  const time = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const quote = (value: string) => (/^[A-Za-z0-9\-._/@^+]*$/.test(value) && value !== "" ? value : JSON.stringify(value));
  const extra = Object.entries(fields)
    .map(([key, value]) => ` ${key}=${quote(value)}`)
    .join("");
  return `time=${JSON.stringify(time)} level=debug msg=${quote(message)}${extra}\n`;
}

export class ContentPruneReferences extends CtrCommand {
  static override summary = "prunes preference labels from the content store (layers only by default)";
  static override description =
    "Removes the GC references from blobs to layers (`containerd.io/gc.ref.content.l.*`), so that layers already unpacked into snapshots are no longer kept, then has the daemon collect garbage (by deleting a lease, synchronously unless --async). Prints nothing; --dry only logs what it would remove.";
  static override usage = "content prune references [flags]";
  static override flags = {
    async: Flags.boolean({ description: "allow garbage collection to cleanup asynchronously" }),
    dry: Flags.boolean({ description: "just show updates without applying (enables debug logging)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ContentPruneReferences);
    const client = await this.connect(flags);
    const context = client.context();
    if (flags.dry) process.stderr.write(debugLine("dry run, no changes will be applied"));
    const updates: { digest: string; labels: Record<string, string>; fields: string[] }[] = [];
    for await (const info of client.content.list(context, [])) {
      const labels = { ...info.labels };
      const fields: string[] = [];
      for (const key of Object.keys(labels)) {
        if (!isLayerLabel(key)) continue;
        if (flags.dry) process.stderr.write(debugLine("Removing label", { digest: info.digest, label: key }));
        if (flags.dry) continue;
        fields.push(`labels.${key}`);
        delete labels[key];
      }
      if (fields.length > 0) updates.push({ digest: info.digest, labels, fields });
    }
    for (const update of updates) await client.content.update(context, { digest: update.digest, labels: update.labels }, update.fields);
    const lease = await client.leases.create(context, { id: "", labels: { "containerd.io/gc.expire": new Date(Date.now() + 3_600_000).toISOString() } });
    await client.leases.delete(context, lease.id, !flags.async);
  }
}
