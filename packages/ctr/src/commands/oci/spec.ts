import { CtrCommand } from "@berth/cli-kit";
import { goIndentedJson } from "../../format/go-values.js";

export class OciSpec extends CtrCommand {
  static override summary = "see the output of the default OCI spec";
  static override description =
    "Prints containerd's default OCI runtime spec for a container with no id in the current namespace, as JSON indented as stock ctr prints it. Talks to no daemon.";
  static override usage = "oci spec";

  async run(): Promise<void> {
    const { flags } = await this.parse(OciSpec);
    const { defaultSpec, resolveNamespace, specInGoOrder } = await import("@berth/client");
    const spec = defaultSpec(resolveNamespace(flags.namespace), "");
    // oci.GenerateSpec alone: only the deny-all device rule (the allowed devices are ctr run's),
    // and Go's path.Join("/", namespace, ""), with no trailing slash for the empty id.
    spec.linux = { ...spec.linux!, resources: { devices: [{ allow: false, access: "rwm" }] }, cgroupsPath: spec.linux!.cgroupsPath!.replace(/\/$/, "") };
    this.print(`${goIndentedJson(specInGoOrder(spec))}\n`);
  }
}
