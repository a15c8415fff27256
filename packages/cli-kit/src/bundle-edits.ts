/**
 * What the CLI bundle (command-bundle.ts) changes in the modules it gathers, for start-up: edits of
 * dependencies' sources (each fails the build when its module no longer reads as expected, rather
 * than keep a patch that no longer applies), and esbuild's CommonJS wrappers made eager.
 */
import { readFileSync } from "node:fs";
import { sep } from "node:path";
import type { Plugin } from "esbuild";

/** A source edit of a dependency's module in the bundle: it throws when the module no longer reads as expected. */
type SourceEdit = (source: string, file: string) => string;

/**
 * oclif sorts a plugin's commands with `localeCompare` as it loads them, for every command run:
 * that first compare builds ICU's collator, some 6 ms and 3 MB of a 130 ms start. The bundle sorts
 * them by code unit instead: help sorts what it lists on its own, and nothing else shows this order.
 */
const commandSortByCodeUnit: SourceEdit = (source, file) => {
  const sort = ".sort((a, b) => a.id.localeCompare(b.id))";
  if (!source.includes(sort)) throw new Error(`${file} no longer sorts commands with ${sort}: review bundle-edits.ts`);
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
    if (match === null) throw new Error(`${file} no longer requires ${specifier} as expected: review bundle-edits.ts`);
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
  if (!source.includes(ask)) throw new Error(`${file} no longer asks wsl-utils for the platform as expected: review bundle-edits.ts`);
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

export const editedSources: Plugin = {
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
  if (done !== wrappers) throw new Error(`${file}: ${wrappers - done} of esbuild's CommonJS wrappers not in the expected form: review bundle-edits.ts`);
  return out + code.slice(at);
}
