// Bundles the shim's entry (dist/shim/cli.js, as tsc built it) and everything it imports into
// dist/shim/bundle/: containerd waits for the shim server of a namespace's first task, and Node
// spends most of that start resolving and loading ~120 modules one by one. Each action (start,
// delete, serve) stays a chunk of its own, and what the server loads only on demand (cgroup
// metrics) a chunk loaded on demand. The sources in src/ stay the package's truth.
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const outdir = fileURLToPath(new URL("../dist/shim/bundle", import.meta.url));
rmSync(outdir, { recursive: true, force: true });
const require = createRequire(import.meta.url);

// Node's built-in modules through process.getBuiltinModule, each imported name read from the
// module object, instead of Node's ESM facades: a facade reads every export of its module once,
// which loads what Node keeps lazy (fs's streams and promises, readline, ...), ~6 ms of a start.
// Unused names go (pure reads); the rest are read when the importing module is evaluated.
const builtinsWithoutFacades = {
  name: "builtins-without-facades",
  setup(build) {
    build.onResolve({ filter: /^node:/ }, ({ path }) => ({ path, namespace: "builtin" }));
    build.onLoad({ filter: /.*/, namespace: "builtin" }, ({ path }) => {
      const names = Object.keys(require(path)).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name) && name !== "default");
      const lines = [`const __builtin = process.getBuiltinModule(${JSON.stringify(path)});`, "const __read = (name) => __builtin[name];"];
      for (const name of names) lines.push(`export const ${name} = /* @__PURE__ */ __read(${JSON.stringify(name)});`);
      lines.push("export default __builtin;");
      return { contents: lines.join("\n"), loader: "js" };
    });
  },
};

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
  plugins: [builtinsWithoutFacades],
});
