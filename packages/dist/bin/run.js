#!/usr/bin/env node
import { enableCompileCache } from "node:module";

// Cached bytecode roughly halves the start-up of every later run.
enableCompileCache();
const { execute } = await import("@oclif/core");
const { hoistGlobalOptions } = await import("@berth/ctr/cli");

// dist takes its global options before the command (`dist -n foo pull …`), which oclif does not.
await execute({ args: hoistGlobalOptions(process.argv.slice(2)), dir: import.meta.url });
