#!/usr/bin/env node
// The package's bundle (src/main.ts and one module per command, gathered by the build): a few chunks
// instead of hundreds of modules to resolve and load.
const { main } = await import("../bundle/main.js");

await main(import.meta.url, process.argv.slice(2), { bundledCommands: new URL("../bundle/commands/", import.meta.url).href });
