// Bundles the shim's entry (dist/shim/cli.js, as tsc built it) and everything it imports into
// dist/shim/bundle/: containerd waits for the shim server of a namespace's first task, and Node
// spends most of that start resolving and loading ~120 modules one by one. Each action (start,
// delete, serve) stays a chunk of its own, and what the server loads only on demand (cgroup
// metrics) a chunk loaded on demand. The sources in src/ stay the package's truth.
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const outdir = fileURLToPath(new URL("../dist/shim/bundle", import.meta.url));
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [fileURLToPath(new URL("../dist/shim/cli.js", import.meta.url))],
  outdir,
  entryNames: "[name]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node24",
  // A native addon, required from node_modules on the first system call.
  external: ["koffi"],
  logLevel: "warning",
});
