/**
 * Help text, kept from oclif's rendering so that the next identical request prints it without
 * loading oclif (which costs a CLI most of its start-up). An entry is keyed by everything that
 * shapes oclif's output: the argv, the package's manifest (its size and time, so a rebuild or an
 * upgrade misses), whether stdout is a terminal and its width, and the environment oclif's layout
 * and colours read. Each file holds its full key on its first line and is used only when that
 * matches, so a hash collision or a stale file is a miss. Kept under `$XDG_CACHE_HOME` (else
 * `~/.cache`), never in a directory other users can write.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The environment that changes how oclif lays out or colours help. */
const layoutEnvironment = ["OCLIF_COLUMNS", "COLUMNS", "FORCE_COLOR", "NO_COLOR", "NODE_DISABLE_COLORS", "TERM", "COLORTERM", "CI"];

/** Words that may ask for help before argv is rewritten (`ctr help c`, `ctr c rm -h`). */
const helpWords = new Set(["--help", "-h", "help", "h"]);

/** Whether oclif takes `args` (as it runs them) as a help request: no command, or `--help` before `--`. */
export function isHelpRequest(args: readonly string[]): boolean {
  if (args.length === 0) return true;
  for (const arg of args) {
    if (arg === "--") return false;
    if (arg === "--help") return true;
  }
  return false;
}

/** Whether `argv` (before rewriting) may be a help request worth looking up. */
export function mayAskForHelp(argv: readonly string[]): boolean {
  return argv.length === 0 || argv.some((arg) => helpWords.has(arg));
}

export interface HelpCacheEntry {
  readonly file: string;
  readonly key: string;
}

/** FNV-1a, for a short file name; the full key inside the file decides. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/** The cache entry for `argv` of the CLI whose bin is `binUrl`, or undefined when there is no manifest to key on. */
export function helpCacheEntry(binUrl: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): HelpCacheEntry | undefined {
  const root = fileURLToPath(new URL("..", binUrl));
  let manifest;
  try {
    manifest = statSync(join(root, "oclif.manifest.json"));
  } catch {
    return undefined;
  }
  const stdout = process.stdout;
  const key = JSON.stringify({
    root,
    manifest: [manifest.size, manifest.mtimeMs],
    argv,
    terminal: stdout.isTTY ? [stdout.columns, stdout.hasColors?.() ?? false] : false,
    env: layoutEnvironment.map((name) => env[name] ?? null),
  });
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return { file: join(cacheHome, "berth", "help", `${fnv1a(key)}.txt`), key };
}

/** The help text kept for `entry`, if any. */
export function readHelp(entry: HelpCacheEntry): string | undefined {
  let text;
  try {
    text = readFileSync(entry.file, "utf8");
  } catch {
    return undefined;
  }
  const newline = text.indexOf("\n");
  return newline !== -1 && text.slice(0, newline) === entry.key ? text.slice(newline + 1) : undefined;
}

/** Keeps `help` for `entry`; a cache that cannot be written (read-only home) is simply not kept. */
export function writeHelp(entry: HelpCacheEntry, help: string): void {
  try {
    mkdirSync(join(entry.file, ".."), { recursive: true, mode: 0o700 });
    const partial = `${entry.file}.${process.pid}`;
    writeFileSync(partial, `${entry.key}\n${help}`, { mode: 0o600 });
    renameSync(partial, entry.file);
  } catch {
    // Help was printed; keeping it is only an optimisation.
  }
}

/**
 * Runs `render` (oclif printing help) with stdout and stderr watched; returns what it wrote to
 * stdout if it wrote nothing to stderr and did not fail, for `writeHelp`.
 */
export async function captureHelp(render: () => Promise<void>): Promise<string | undefined> {
  const written: string[] = [];
  let clean = true;
  const { stdout, stderr } = process;
  const write = stdout.write;
  const writeError = stderr.write;
  stdout.write = function (this: NodeJS.WriteStream, chunk: string | Uint8Array, ...rest: never[]) {
    written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return write.call(this, chunk, ...rest);
  } as typeof stdout.write;
  stderr.write = function (this: NodeJS.WriteStream, chunk: string | Uint8Array, ...rest: never[]) {
    clean = false;
    return writeError.call(this, chunk, ...rest);
  } as typeof stderr.write;
  try {
    await render();
  } finally {
    stdout.write = write;
    stderr.write = writeError;
  }
  return clean && (process.exitCode === undefined || process.exitCode === 0) ? written.join("") : undefined;
}
