import { readFileSync } from "node:fs";
import { CtrCommand } from "@berth/cli-kit";

const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

export class Version extends CtrCommand {
  static override summary = "print the client and server versions";

  async run(): Promise<void> {
    const { flags } = await this.parse(Version);
    const clientVersion = manifest.version;
    const clientRevision = `berth-${manifest.version}`;
    this.print(`Client:\n  Version:  ${clientVersion}\n  Revision: ${clientRevision}\n  Node version: ${process.version}\n\n`);
    const client = await this.connect(flags);
    // Both questions at once (one round trip, not two); a failure is reported in the order asked, version's first.
    const asked = client.version();
    const answered = client.server();
    answered.catch(() => undefined);
    const version = await asked;
    const server = await answered;
    this.print(`Server:\n  Version:  ${version.version}\n  Revision: ${version.revision}\n  UUID: ${server.uuid}\n`);
    if (version.version !== clientVersion) process.stderr.write("WARNING: version mismatch\n");
    if (version.revision !== clientRevision) process.stderr.write("WARNING: revision mismatch\n");
  }
}
