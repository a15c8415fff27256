#!/usr/bin/env node
// Berth's runtime v2 shim for io.containerd.runc.v2 (see @berth/runtime-linux, src/shim).
import { enableCompileCache } from "node:module";
import { fileURLToPath } from "node:url";

enableCompileCache();
// The bundle of dist/shim (scripts/bundle-shim.mjs): one file per action instead of ~120 modules.
const { main } = await import("../dist/shim/bundle/cli.js");

const code = await main(process.argv.slice(2), fileURLToPath(import.meta.url));
// -1: the server runs on; anything else is the exit code of a finished command.
if (code >= 0) process.exitCode = code;
