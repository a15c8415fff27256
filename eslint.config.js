// The house rules that keep packages apart (see README "Working on it"). Style belongs to prettier:
// no rule here is about layout. No type-aware rules, so a run over the tree takes seconds.
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import { fileURLToPath } from "node:url";

// Packages that assemble the libraries into programs (or test and measure them). No library imports these.
const programs = ["daemon", "ctr", "dist", "testkit", "bench"];

const deepImports = {
  group: ["@berth/*/dist", "@berth/*/dist/**", "@berth/*/src", "@berth/*/src/**"],
  message: "deep import into another package: import its name or an exported subpath (package.json `exports`).",
};

const noImportOf = (names) =>
  names.map((name) => ({
    group: [`@berth/${name}`, `@berth/${name}/**`],
    message: `@berth/${name} is a program, not a library: the dependency must go the other way.`,
  }));

// oclif's index loads every part of oclif (~75 KB more to read at each command's start).
const oclifIndex = {
  name: "@oclif/core",
  message: "import the part you use from its own entry (@oclif/core/args, /flags, /interfaces, /command, …), not oclif's index.",
};

const restrictImports = (...patterns) => ({
  "no-restricted-imports": ["error", { paths: [oclifIndex], patterns: [deepImports, ...patterns] }],
});

export default defineConfig(
  {
    ignores: ["**/node_modules/", "**/dist/", "packages/*/bundle/", ".tools/", ".turbo/", "coverage/", "packages/api/src/gen/"],
  },
  {
    files: ["**/*.{ts,mts,cts,js,mjs,cjs}"],
    languageOptions: { parser: tseslint.parser, ecmaVersion: "latest", sourceType: "module" },
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: fileURLToPath(new URL("tsconfig.base.json", import.meta.url)) })],
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      ...restrictImports(),
      "import-x/no-relative-packages": "error",
      "import-x/no-default-export": "error",
      "no-restricted-syntax": [
        "error",
        {
          selector: "ExportAllDeclaration[exported=null]",
          message: "`export *` hides what a module offers: name each export (`export * as name` is fine).",
        },
      ],
    },
  },
  // Libraries (every package that is not a program) never reach up into a program.
  {
    files: ["packages/*/src/**"],
    ignores: programs.map((name) => `packages/${name}/src/**`),
    rules: restrictImports(...noImportOf(programs)),
  },
  {
    files: ["packages/daemon/src/**"],
    rules: restrictImports(...noImportOf(["ctr", "dist", "testkit", "bench"])),
  },
  {
    files: ["packages/ctr/src/**"],
    rules: restrictImports(...noImportOf(["daemon", "dist", "testkit", "bench"])),
  },
  {
    files: ["packages/dist/src/**"],
    rules: restrictImports(...noImportOf(["daemon", "ctr", "testkit", "bench"])),
  },
  {
    files: ["packages/testkit/src/**"],
    rules: restrictImports(...noImportOf(["ctr", "dist", "bench"])),
  },
  // Tools load their configuration through a default export; ambient `declare module` blocks describe
  // third-party modules as they are.
  {
    files: ["*.config.{js,ts,mjs}", "**/*.d.ts"],
    rules: { "import-x/no-default-export": "off" },
  },
);
