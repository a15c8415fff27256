#!/usr/bin/env node
import { enableCompileCache } from "node:module";
import { setFlagsFromString } from "node:v8";

// Cached bytecode roughly halves the start-up of every later run.
enableCompileCache();
// A pull streams every layer through this process as ArrayBuffers, which count against V8's
// old-generation limit: with the default heap growth that meant a full GC every few MB.
setFlagsFromString("--heap-growing-percent=300");
const { launch } = await import("@berth/cli-kit/launch");

// Global options may come before the command (`ctr -n foo images ls`); only the command run is loaded.
await launch(import.meta.url, process.argv.slice(2));
