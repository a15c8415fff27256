#!/usr/bin/env -S node --
// `--` ends node's own options: node reads `--env-file` anywhere on its command line, even after the script (ctr run --env-file).
// The package's bundle (src/main.ts and one module per command, gathered by the build): a few chunks
// instead of some 370 modules to resolve and load.
const { main } = await import("../bundle/main.js");

await main(import.meta.url, process.argv.slice(2), { bundledCommands: new URL("../bundle/commands/", import.meta.url).href });
