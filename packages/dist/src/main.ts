/**
 * How the `dist` bin starts (bundled into `bundle/main.js` by the build, see @berth/cli-kit/command-bundle):
 * global options may come before the command (`dist -n foo images ls`); only the command run is loaded.
 */
import { type LaunchOptions, launch } from "@berth/cli-kit/launch";

export async function main(binUrl: string, argv: readonly string[], options?: LaunchOptions): Promise<void> {
  await launch(binUrl, argv, undefined, options);
}
