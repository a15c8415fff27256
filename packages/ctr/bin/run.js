#!/usr/bin/env node
import { execute } from "@oclif/core";
import { hoistGlobalOptions } from "../dist/global-options.js";

// ctr takes its global options before the command (`ctr -n foo images ls`), which oclif does not.
await execute({ args: hoistGlobalOptions(process.argv.slice(2)), dir: import.meta.url });
