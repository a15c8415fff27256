/**
 * How the `ctr` bin starts (bundled into `bundle/main.js` by the build, see @berth/cli-kit/command-bundle):
 * global options may come before the command (`ctr -n foo images ls`), and every name stock ctr has
 * for a command (`ctr c rm`) is spelled as Berth's id; only the command run is loaded (and help
 * printed before, not even oclif).
 */
import { type LaunchOptions, launch } from "@berth/cli-kit/launch";

export async function main(binUrl: string, argv: readonly string[], options?: LaunchOptions): Promise<void> {
  await launch(
    binUrl,
    argv,
    async (argv, commands) => {
      const [{ canonicalArgv }, { ctrOptionsAfterSubcommand }] = await Promise.all([import("./command-names.js"), import("./global-options.js")]);
      return canonicalArgv(ctrOptionsAfterSubcommand(argv), commands);
    },
    options,
  );
}
