/**
 * @berth/cli-kit/command-bundle: bundles an oclif package (ctr, dist) for start-up. Node spends most
 * of a command's start resolving, reading and compiling some 370 modules one by one (oclif, grpc-js,
 * the generated API); esbuild gathers them into a few chunks. Each command is an entry of its own
 * (`bundle/commands/<id words>.js`, exporting `command`), so running one loads its chunk and the
 * chunks it shares with others, never another command's; `bundle/main.js` is the package's
 * `dist/main.js` (the launcher). One build, so oclif is one copy for the launcher and the commands.
 * Run by the package's build after `writeCommandManifest`; the sources in `dist/` stay the truth.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";
import { type CommandSource, bundledCommandPath, commandSourceKey } from "./launch.js";

interface OclifPackage {
  readonly oclif: { readonly commands: { readonly target: string; readonly identifier: string } };
}

/**
 * Left out of the bundle, loaded from node_modules when needed: native addons (next to their
 * binaries); `@berth/api/known-types`, which requires its generated modules by relative path on
 * first use (events, tasks ps and metrics); and what oclif and grpc-js require only on paths a
 * CLI never takes (TypeScript sources in development, Yarn PnP, channelz/ORCA service definitions).
 */
const external = ["koffi", "lmdb", "msgpackr-extract", "@berth/api/known-types", "typescript", "ts-node", "pnpapi", "@grpc/proto-loader"];

/**
 * The file that defines `exportName` of `file`: a barrel's `export { Name } from "./x.js"` is
 * followed, so that a command's entry holds that command only (esbuild keeps every module a barrel
 * names when their classes' static initialisers may have effects).
 */
function definingFile(file: string, exportName: string): string {
  const source = readFileSync(file, "utf8");
  for (const [, names, from] of source.matchAll(/export\s*\{([^}]*)\}\s*from\s*"(\.[^"]+)"/g)) {
    if (names!.split(",").some((name) => name.trim() === exportName)) return definingFile(resolve(dirname(file), from!), exportName);
  }
  return file;
}

/** Where a command's class comes from, as an ES module body exporting it as `command`. */
function commandEntry(root: string, id: string, source: CommandSource | undefined, registry: { file: string; identifier: string }): string {
  if (source === undefined) {
    // A class the registry defines itself: loaded with the registry, as oclif would.
    return `import { ${registry.identifier} as registry } from ${JSON.stringify(registry.file)};\nexport const command = registry[${JSON.stringify(id)}];\n`;
  }
  const file = source.module.startsWith(".") ? resolve(root, source.module) : createRequire(join(root, "package.json")).resolve(source.module);
  return `export { ${source.exportName} as command } from ${JSON.stringify(definingFile(file, source.exportName))};\n`;
}

/** Whether Node loads `file` as CommonJS: `.cjs`, or `.js` in a package not of `"type": "module"`. */
function isCommonJs(file: string): boolean {
  if (file.endsWith(".cjs")) return true;
  if (!file.endsWith(".js")) return false;
  for (let directory = dirname(file); directory !== dirname(directory); directory = dirname(directory)) {
    let pjson: { type?: string };
    try {
      pjson = JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as { type?: string };
    } catch {
      continue;
    }
    return pjson.type !== "module";
  }
  return true;
}

/**
 * esbuild turns `await import("cjs-package")` into a chunk with a default export only, where Node
 * gives the CommonJS module's names too (`const { Agent } = await import("undici")`). Such an
 * import is pointed at a module re-exporting each name Node finds, as Node would.
 */
const commonJsDynamicImports = (root: string): Plugin => ({
  name: "berth-commonjs-dynamic-imports",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.kind !== "dynamic-import" || args.namespace === "berth-commonjs") return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, namespace: "berth-commonjs" });
      if (resolved.errors.length > 0 || resolved.external || !isCommonJs(resolved.path)) return undefined;
      // Named relative to the package, as esbuild names every other module in the bundle's comments.
      return { path: relative(root, resolved.path), namespace: "berth-commonjs", pluginData: resolved.path };
    });
    build.onLoad({ filter: /.*/, namespace: "berth-commonjs" }, async (args) => {
      const file = args.pluginData as string;
      const names = Object.keys((await import(pathToFileURL(file).href)) as object).filter(
        (name) => name !== "default" && name !== "__esModule" && /^[A-Za-z_$][\w$]*$/.test(name),
      );
      // `require`: module.exports itself, whatever its `__esModule` says, as Node's default export is.
      const contents = `const module = require(${JSON.stringify(file)});\nexport default module;\nexport const { ${names.join(", ")} } = module;\n`;
      return { contents, resolveDir: dirname(file), loader: "js" };
    });
  },
});

/** A source edit of a dependency's module in the bundle: it throws when the module no longer reads as expected. */
type SourceEdit = (source: string, file: string) => string;

/**
 * oclif sorts a plugin's commands with `localeCompare` as it loads them, for every command run:
 * that first compare builds ICU's collator, some 6 ms and 3 MB of a 130 ms start. The bundle sorts
 * them by code unit instead: help sorts what it lists on its own, and nothing else shows this order.
 */
const commandSortByCodeUnit: SourceEdit = (source, file) => {
  const sort = ".sort((a, b) => a.id.localeCompare(b.id))";
  if (!source.includes(sort)) throw new Error(`${file} no longer sorts commands with ${sort}: review command-bundle.ts`);
  return source.replace(sort, ".sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))");
};

/**
 * `specifier`, required at the top of a CommonJS module, loaded on the first use of what it
 * exports instead (every use in these modules is a property of it): for what a command run never
 * touches, such as oclif's templates (ejs), plugin discovery (tinyglobby, minimatch), performance
 * marks, stdin prompts and error rendering (help), or grpc-js's server, DNS, compression and proxy.
 */
const requiredOnUse =
  (specifier: string): SourceEdit =>
  (source, file) => {
    const declaration = new RegExp(`\\b(const|var) (\\w+) = ((?:__importDefault\\()?require\\(${JSON.stringify(specifier)}\\)\\)?);`);
    const match = declaration.exec(source);
    if (match === null) throw new Error(`${file} no longer requires ${specifier} as expected: review command-bundle.ts`);
    const [, kind, name, load] = match;
    const lazy = `let ${name}$loaded; ${kind} ${name} = new Proxy({}, { get: (_, key) => (${name}$loaded ??= ${load})[key] });`;
    return source.replace(match[0], lazy);
  };

/**
 * oclif asks is-wsl (through wsl-utils, an ES module importing node:process, node:util and
 * node:child_process, some 30 built-in modules) for the platform on every run. is-wsl answers
 * true only on Linux where the kernel release or /proc/version names Microsoft or WSL's interop
 * paths exist: elsewhere the platform is Node's, and wsl-utils is asked only there.
 */
const wslAskedOnlyWherePossible: SourceEdit = (source, file) => {
  const ask = "return (await import('wsl-utils')).isWsl ? 'wsl' : (0, node_os_1.platform)();";
  if (!source.includes(ask)) throw new Error(`${file} no longer asks wsl-utils for the platform as expected: review command-bundle.ts`);
  const mayBeWsl = `(0, node_os_1.platform)() === "linux" && ((0, node_os_1.release)().toLowerCase().includes("microsoft") ||
      (() => { try { return require("node:fs").readFileSync("/proc/version", "utf8").toLowerCase().includes("microsoft"); } catch { return false; } })() ||
      require("node:fs").existsSync("/proc/sys/fs/binfmt_misc/WSLInterop") || require("node:fs").existsSync("/run/WSL"))`;
  return source.replace(ask, `if (!(${mayBeWsl})) return (0, node_os_1.platform)();\n    ${ask}`);
};

/** The edits, by module (a path ending). */
const sourceEdits: ReadonlyArray<{ readonly module: string; readonly edits: readonly SourceEdit[] }> = [
  { module: "@oclif/core/lib/config/plugin.js", edits: [commandSortByCodeUnit, requiredOnUse("tinyglobby")] },
  { module: "@oclif/core/lib/config/config.js", edits: [requiredOnUse("ejs")] },
  { module: "@oclif/core/lib/help/util.js", edits: [requiredOnUse("ejs")] },
  { module: "@oclif/core/lib/config/plugin-loader.js", edits: [requiredOnUse("minimatch")] },
  { module: "@oclif/core/lib/performance.js", edits: [requiredOnUse("node:perf_hooks")] },
  { module: "@oclif/core/lib/util/os.js", edits: [requiredOnUse("node:child_process"), wslAskedOnlyWherePossible] },
  { module: "@oclif/core/lib/parser/parse.js", edits: [requiredOnUse("node:readline")] },
  { module: "@oclif/core/lib/errors/index.js", edits: [requiredOnUse("./handle")] },
  {
    module: "@grpc/grpc-js/build/src/index.js",
    edits: [requiredOnUse("./server"), requiredOnUse("./server-credentials"), requiredOnUse("./server-interceptors")],
  },
  { module: "@grpc/grpc-js/build/src/resolver-dns.js", edits: [requiredOnUse("dns")] },
  { module: "@grpc/grpc-js/build/src/compression-filter.js", edits: [requiredOnUse("zlib")] },
  { module: "@grpc/grpc-js/build/src/http_proxy.js", edits: [requiredOnUse("http")] },
];

const editedSources: Plugin = {
  name: "berth-edited-sources",
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]@(oclif|grpc)[\\/]/ }, (args) => {
      const path = args.path.split(sep).join("/");
      const entry = sourceEdits.find(({ module }) => path.endsWith(`/node_modules/${module}`));
      if (entry === undefined) return undefined;
      const source = entry.edits.reduce((text, edit) => edit(text, args.path), readFileSync(args.path, "utf8"));
      return { contents: source, loader: "js" };
    });
  },
};

/**
 * esbuild wraps each CommonJS module (oclif, grpc-js and their dependencies) in a function that V8
 * compiles lazily, when the module is first required; Node's compile cache is taken as a file is
 * compiled, before it runs, so it never held those module bodies and every run compiled them
 * again. Parenthesised, a module's function is compiled with its file and kept in the cache.
 * The build fails if esbuild no longer writes the wrapper so.
 */
export function eagerCommonJsModules(code: string, file: string): string {
  const opening = /__commonJS\(\{\n {2}("[^"\n]+")\(([^)]*)\) \{\n/g;
  const closing = "\n  }\n});";
  const wrappers = code.split("__commonJS({").length - 1;
  let out = "";
  let done = 0;
  let at = 0;
  for (let match = opening.exec(code); match !== null; match = opening.exec(code)) {
    const end = code.indexOf(closing, opening.lastIndex);
    if (end === -1) break;
    out += `${code.slice(at, match.index)}__commonJS({\n  ${match[1]}: (function (${match[2]}) {\n${code.slice(opening.lastIndex, end)}\n  })\n});`;
    at = end + closing.length;
    opening.lastIndex = at;
    done++;
  }
  if (done !== wrappers) throw new Error(`${file}: ${wrappers - done} of esbuild's CommonJS wrappers not in the expected form: review command-bundle.ts`);
  return out + code.slice(at);
}

/** Bundles the package at `root` into `root/bundle` (see above); writes esbuild's metafile to `root/bundle.meta.json`. */
export async function bundleCommands(root: string = process.cwd()): Promise<string> {
  const { build, transform } = await import("esbuild");
  const outdir = join(root, "bundle");
  rmSync(outdir, { recursive: true, force: true });
  const pjson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as OclifPackage;
  const registry = { file: resolve(root, pjson.oclif.commands.target), identifier: pjson.oclif.commands.identifier };
  const manifest = JSON.parse(readFileSync(join(root, "oclif.manifest.json"), "utf8")) as {
    commands: Record<string, { [commandSourceKey]?: CommandSource }>;
  };
  const entries: Record<string, string> = {};
  const contents = new Map<string, string>();
  for (const [id, cached] of Object.entries(manifest.commands)) {
    entries[`commands/${bundledCommandPath(id)}`] = `berth-command:${id}`;
    contents.set(id, commandEntry(root, id, cached[commandSourceKey], registry));
  }
  entries.main = join(root, "dist", "main.js");
  const commandEntries: Plugin = {
    name: "berth-command-entries",
    setup(build) {
      build.onResolve({ filter: /^berth-command:/ }, (args) => ({ path: args.path.slice("berth-command:".length), namespace: "berth-command" }));
      build.onLoad({ filter: /.*/, namespace: "berth-command" }, (args) => ({ contents: contents.get(args.path)!, resolveDir: root, loader: "js" }));
    },
  };
  const result = await build({
    entryPoints: entries,
    outdir,
    // Modules are named relative to the package in the bundle's comments and its metafile.
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node24",
    external,
    // CommonJS dependencies (oclif, grpc-js) require Node's built-ins: give each chunk a `require`.
    banner: { js: 'import { createRequire as __berthCreateRequire } from "node:module";\nconst require = __berthCreateRequire(import.meta.url);' },
    plugins: [commandEntries, commonJsDynamicImports(root), editedSources],
    metafile: true,
    logLevel: "warning",
    write: false,
  });
  for (const output of result.outputFiles) {
    let text = output.text;
    if (output.path.endsWith(".js") && text.includes("__commonJS({")) {
      text = eagerCommonJsModules(text, output.path);
      // Still a module that parses, or the build fails here rather than at a user's first run.
      await transform(text, { format: "esm", loader: "js", logLevel: "silent" });
    }
    mkdirSync(dirname(output.path), { recursive: true });
    writeFileSync(output.path, text);
  }
  writeFileSync(join(root, "bundle.meta.json"), `${JSON.stringify(result.metafile)}\n`);
  return outdir;
}
