#!/usr/bin/env -S node --
// `--` ends node's own options: node reads `--env-file` anywhere on its command line, even after the script (ctr run --env-file).
const { launch } = await import("@berth/cli-kit/launch");

// Global options may come before the command (`ctr -n foo images ls`), and every name stock ctr has
// for a command (`ctr c rm`) is spelled as Berth's id; only the command run is loaded (and help
// printed before, not even oclif).
await launch(import.meta.url, process.argv.slice(2), async (argv, commands) => {
  const [{ canonicalArgv }, { ctrOptionsAfterSubcommand }] = await Promise.all([import("../dist/command-names.js"), import("../dist/global-options.js")]);
  return canonicalArgv(ctrOptionsAfterSubcommand(argv), commands);
});
