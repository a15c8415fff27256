import { readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Any } from "@berth/api";
import * as runcV1 from "@berth/api/gen/containerd/runc/v1/options";
import { runcOptionTypes } from "./start-options.js";

export type RuncOptions = runcV1.Options;

/**
 * The runc shim's options from a Create request's Any. Other types (CRI's
 * runtimeoptions.v1.Options) leave the defaults, as containerd's shim does for what it cannot use.
 */
export function decodeRuncOptions(any: Any | undefined): RuncOptions {
  const typeUrl = any?.typeUrl.replace(/^type\.googleapis\.com\//, "") ?? "";
  if (any === undefined || !runcOptionTypes.has(typeUrl)) return runcV1.Options.fromPartial({});
  return runcV1.Options.decode(any.value);
}

/** Written into the bundle, as containerd's shim does, for the `delete` command of a dead shim. */
export function writeOptions(bundle: string, options: RuncOptions): void {
  // Go's field names (snake_case), as containerd's shim writes them.
  const json = Object.entries(runcV1.Options.toJSON(options) as Record<string, unknown>).map(([key, value]) => [
    key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
    value,
  ]);
  writeFileSync(join(bundle, "options.json"), JSON.stringify(Object.fromEntries(json)));
  writeFileSync(join(bundle, "runtime"), options.binaryName);
}

export function readOptions(bundle: string): RuncOptions {
  try {
    return runcV1.Options.fromJSON(JSON.parse(readFileSync(join(bundle, "options.json"), "utf8")));
  } catch {
    return runcV1.Options.fromPartial({});
  }
}

const bundlesDirectory = "io.containerd.runtime.v2.task";

/**
 * runc's state root for a namespace: `<options.root>/<namespace>`, and by default `<state>/runc/<namespace>`,
 * where `<state>` is the daemon's state directory that holds the bundle
 * (`<state>/io.containerd.runtime.v2.task/<namespace>/<id>`); containerd's shim uses /run/containerd/runc
 * whatever the daemon's state, this keeps daemons on other roots, tests among them, apart. A bundle
 * elsewhere gets `runc/<namespace>` beside the daemon's socket.
 */
export function runcRoot(options: RuncOptions, bundle: string, daemonAddress: string, namespace: string): string {
  if (options.root !== "") return join(options.root, namespace);
  const bundles = dirname(dirname(bundle));
  const state = basename(bundles) === bundlesDirectory ? dirname(bundles) : dirname(daemonAddress.replace(/^unix:\/\//, ""));
  return join(state, "runc", namespace);
}

export function runcBinary(options: RuncOptions): string {
  return options.binaryName !== "" ? options.binaryName : "runc";
}
