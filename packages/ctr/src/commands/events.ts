import * as Args from "@oclif/core/args";
import { CtrCommand } from "@berth/cli-kit";
import { goJson, goTimeString } from "../format/go-values.js";

export class Events extends CtrCommand {
  static override summary = "display containerd events";
  static override description = "Print events as they happen, of every namespace unless filters narrow them, e.g. 'topic~=/tasks/.+,namespace==bb'.";
  static override aliases = ["event"];
  static override strict = false;
  static override args = { filters: Args.string({ description: "filters; several are OR'ed" }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Events);
    const client = await this.connect(flags);
    const { knownTypes } = await import("@berth/api/known-types");
    const types = knownTypes();
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    process.once("SIGTERM", () => controller.abort());
    try {
      for await (const envelope of client.events.subscribe(argv as string[], controller.signal)) {
        let json = "";
        if (envelope.event !== undefined) {
          if (!types.has(envelope.event.typeUrl)) {
            process.stderr.write(`WARN cannot unmarshal an event from Any: type with url ${envelope.event.typeUrl}: not found\n`);
            continue;
          }
          json = JSON.stringify(goJson(types.unpack(envelope.event)));
        }
        const time = envelope.timestamp ? goTimeString(envelope.timestamp) : "";
        this.print(`${time} ${envelope.namespace} ${envelope.topic} ${json}\n`);
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  }
}
