import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alreadyExists, validateIdentifier } from "@berth/api";
import { unmountAll } from "@berth/mount";

/**
 * A task's bundle, in containerd's runtime v2 layout: the state directory `<state>/<ns>/<id>`
 * (0700: config.json, rootfs/, the shim's address, log FIFO and pid files) and a persistent work
 * directory `<root>/<ns>/<id>`, linked from the bundle as `work`.
 */
export class Bundle {
  private constructor(
    readonly namespace: string,
    readonly id: string,
    readonly path: string,
    readonly workDir: string,
  ) {}

  static at(stateRoot: string, workRoot: string, namespace: string, id: string): Bundle {
    return new Bundle(namespace, id, join(stateRoot, namespace, id), join(workRoot, namespace, id));
  }

  get rootfs(): string {
    return join(this.path, "rootfs");
  }

  get logPath(): string {
    return join(this.path, "log");
  }

  /**
   * Makes the directories and writes `config.json`; AlreadyExists when a bundle for the id is on disk.
   * `linkWork: false` leaves out the `work` link (runtime v1's layout).
   */
  static async create(stateRoot: string, workRoot: string, namespace: string, id: string, spec: Uint8Array, { linkWork = true } = {}): Promise<Bundle> {
    validateIdentifier(namespace, "namespace");
    validateIdentifier(id, "id");
    const bundle = Bundle.at(stateRoot, workRoot, namespace, id);
    await mkdir(join(stateRoot, namespace), { recursive: true, mode: 0o711 });
    try {
      await mkdir(bundle.path, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") throw alreadyExists(`bundle for task ${id}`);
      throw error;
    }
    try {
      await mkdir(join(workRoot, namespace), { recursive: true, mode: 0o711 });
      // A work dir without a bundle is a leftover of a task that is gone.
      await rm(bundle.workDir, { recursive: true, force: true });
      await mkdir(bundle.workDir, { mode: 0o711 });
      if (linkWork) await symlink(bundle.workDir, join(bundle.path, "work"));
      await mkdir(bundle.rootfs, { mode: 0o711 });
      await writeFile(join(bundle.path, "config.json"), spec, { mode: 0o666 });
    } catch (error) {
      await bundle.delete();
      throw error;
    }
    return bundle;
  }

  async write(name: string, content: string): Promise<void> {
    await writeFile(join(this.path, name), content, { mode: 0o600 });
  }

  /** A file the shim or the manager wrote into the bundle, or undefined. */
  async read(name: string): Promise<string | undefined> {
    return readFile(join(this.path, name), "utf8").catch(() => undefined);
  }

  /** Unmounts whatever is left on rootfs (a shim that died before unmounting) and removes both directories. */
  async delete(): Promise<void> {
    await unmountAll(this.rootfs, { detach: true });
    await rm(this.path, { recursive: true, force: true });
    await rm(this.workDir, { recursive: true, force: true });
  }
}
