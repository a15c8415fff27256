#!/usr/bin/env -S node --
// `--` ends node's own options: node reads `--env-file` anywhere on its command line, even after the script (ctr run --env-file).
import { enableCompileCache } from "node:module";
import { setFlagsFromString } from "node:v8";

// Cached bytecode roughly halves the start-up of every later run.
enableCompileCache();
// A pull streams every layer through this process as ArrayBuffers, which count against V8's
// old-generation limit: with the default heap growth that meant a full GC every few MB.
setFlagsFromString("--heap-growing-percent=300");
const { launch } = await import("@berth/cli-kit/launch");
const { canonicalArgv } = await import("../dist/command-names.js");
const { ctrOptionsAfterSubcommand } = await import("../dist/global-options.js");

// Global options may come before the command (`ctr -n foo images ls`), and every name stock ctr has
// for a command (`ctr c rm`) is spelled as Berth's id; only the command run is loaded.
await launch(import.meta.url, process.argv.slice(2), (argv, commands) => canonicalArgv(ctrOptionsAfterSubcommand(argv), commands));
