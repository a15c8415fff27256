import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand, spawnLogged, stopProcess } from "./processes.js";

/** A docker-registry (distribution 2.8) serving on 127.0.0.1 from a temporary directory. */
export interface RunningRegistry {
  /** `127.0.0.1:PORT`, the host part of references. */
  readonly host: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly directory: string;
  readonly process: ChildProcess;
  logs(): string;
  /** Kills the registry and removes its directory. */
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Require HTTP basic auth (htpasswd, bcrypt) for this user. */
  readonly htpasswd?: { readonly user: string; readonly password: string };
}

const registryBinary = "/usr/bin/docker-registry";
const directories = new Set<string>();

// Temporary registry roots go with the test run even when a test forgets stop().
process.once("exit", () => {
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * A bcrypt hash for docker-registry's htpasswd (it accepts bcrypt only). Node has no bcrypt, so
 * this uses apache's `htpasswd` or Python's crypt module; undefined when neither is available.
 */
export async function bcryptHash(password: string): Promise<string | undefined> {
  const htpasswd = await runCommand("htpasswd", ["-nbB", "x", password]).catch(() => undefined);
  if (htpasswd?.code === 0) return htpasswd.stdout.trim().slice(2);
  const python = await runCommand("python3", ["-c", "import crypt,sys; print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH)))"], {
    input: password,
  }).catch(() => undefined);
  const hash = python?.stdout.trim() ?? "";
  return python?.code === 0 && hash.startsWith("$2") ? hash : undefined;
}

export async function htpasswdSupported(): Promise<boolean> {
  return (await bcryptHash("probe")) !== undefined;
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200 || response.status === 401;
  } catch {
    return false;
  }
}

/** Starts a registry and waits until `GET /v2/` answers; everything is removed by stop() or at exit. */
export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const directory = mkdtempSync(join(tmpdir(), "berth-registry-"));
  directories.add(directory);
  const remove = () => {
    rmSync(directory, { recursive: true, force: true });
    directories.delete(directory);
  };
  try {
    let auth = "";
    if (options.htpasswd !== undefined) {
      const hash = await bcryptHash(options.htpasswd.password);
      if (hash === undefined) throw new Error("startRegistry: no bcrypt tool (htpasswd or python3 crypt) for an htpasswd file");
      writeFileSync(join(directory, "htpasswd"), `${options.htpasswd.user}:${hash}\n`);
      auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(directory, "htpasswd")}\n`;
    }
    // A port picked here may be taken before the registry binds it; try a few.
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      const url = `http://${host}`;
      const config = join(directory, "config.yml");
      writeFileSync(
        config,
        `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(directory, "data")}
  delete:
    enabled: true
http:
  addr: ${host}
  secret: berth-test-secret
${auth}`,
      );
      const { child, logs } = spawnLogged(registryBinary, ["serve", config], join(directory, "registry.log"));
      const deadline = Date.now() + 15_000;
      let ready = false;
      while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
        if (await answers(url)) {
          ready = true;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (ready) {
        return {
          host,
          url,
          directory,
          process: child,
          logs,
          async stop() {
            await stopProcess(child, 5_000);
            logs(); // kept for a failing test's message after the directory goes
            remove();
          },
        };
      }
      await stopProcess(child, 1_000);
      if (attempt >= 2) throw new Error(`docker-registry did not serve ${url}:\n${logs()}`);
    }
  } catch (error) {
    remove();
    throw error;
  }
}
