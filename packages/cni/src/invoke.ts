import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";

export type CniCommand = "ADD" | "DEL" | "CHECK";

/** A plugin's error result (`{"code", "msg", "details"}`); the message reads as libcni's: `msg; details`. */
export class CniError extends Error {
  override readonly name = "CniError";
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details = "",
  ) {
    super(details === "" ? msg : `${msg}; ${details}`);
  }
}

/** What a plugin is told about the container besides its config (the CNI_* variables). */
export interface PluginInvocation {
  readonly command: CniCommand;
  readonly containerId: string;
  /** The network namespace's path; empty for a DEL whose namespace is gone. */
  readonly netns: string;
  readonly ifName: string;
  /** `CNI_ARGS`: `K=V` pairs joined with `;`. */
  readonly args?: readonly (readonly [string, string])[] | undefined;
  /** The directories searched for the plugin, passed on as `CNI_PATH`. */
  readonly pluginDirs: readonly string[];
}

/** libcni's FindInPath: the first regular file named `type` in the plugin directories. */
async function findPlugin(type: string, pluginDirs: readonly string[]): Promise<string> {
  for (const directory of pluginDirs) {
    const candidate = join(directory, type);
    if (
      await stat(candidate).then(
        (info) => info.isFile(),
        () => false,
      )
    )
      return candidate;
  }
  throw new Error(`failed to find plugin ${JSON.stringify(type)} in path [${pluginDirs.join(" ")}]`);
}

/** A failed plugin's error: its error JSON on stdout, else its stderr, as libcni reports them. */
function pluginError(status: string, stdout: string, stderr: string): Error {
  try {
    const parsed = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof parsed.msg === "string" && parsed.msg !== "") {
      return new CniError(typeof parsed.code === "number" ? parsed.code : 0, parsed.msg, typeof parsed.details === "string" ? parsed.details : "");
    }
  } catch {
    // not an error result: fall back to stderr
  }
  if (stderr !== "") return new Error(`netplugin failed: ${JSON.stringify(stderr)}`);
  return new Error(`netplugin failed with no error message: ${status}`);
}

/** Runs one plugin with `config` on stdin; resolves to what it printed on stdout. */
export async function execPlugin(type: string, config: unknown, invocation: PluginInvocation): Promise<string> {
  const path = await findPlugin(type, invocation.pluginDirs);
  const env = {
    ...process.env,
    CNI_COMMAND: invocation.command,
    CNI_CONTAINERID: invocation.containerId,
    CNI_NETNS: invocation.netns,
    CNI_IFNAME: invocation.ifName,
    CNI_ARGS: (invocation.args ?? []).map(([key, value]) => `${key}=${value}`).join(";"),
    CNI_PATH: invocation.pluginDirs.join(":"),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { env, stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const out = Buffer.concat(stdout).toString("utf8");
      if (code === 0) resolve(out);
      else reject(pluginError(signal ? `signal: ${signal}` : `exit status ${code}`, out, Buffer.concat(stderr).toString("utf8")));
    });
    // A plugin that exits without reading its config must not fail the write.
    child.stdin.on("error", () => undefined);
    child.stdin.end(JSON.stringify(config));
  });
}
