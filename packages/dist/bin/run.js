#!/usr/bin/env node
const { launch } = await import("@berth/cli-kit/launch");

// Global options may come before the command (`ctr -n foo images ls`); only the command run is loaded.
await launch(import.meta.url, process.argv.slice(2));
