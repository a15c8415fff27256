import { chmod, chown, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alreadyExists, invalidArgument, validateIdentifier } from "@berth/api";

/**
 * A task's bundle, in containerd's runtime v2 layout: the state directory `<state>/<ns>/<id>`
 * (0700: config.json, rootfs/, the shim's address, log FIFO and pid files; see openToRemappedRoot)
 * and a persistent work directory `<root>/<ns>/<id>`, linked from the bundle as `work`.
 */
export class Bundle {
  private constructor(
    readonly namespace: string,
    readonly id: string,
    readonly path: string,
    readonly workDir: string,
    /** The platform's unmount of whatever is left on the rootfs (a shim that died before unmounting). */
    private readonly unmountRootfs: (rootfs: string) => Promise<void>,
  ) {}

  static at(stateRoot: string, workRoot: string, namespace: string, id: string, unmountRootfs: (rootfs: string) => Promise<void>): Bundle {
    return new Bundle(namespace, id, join(stateRoot, namespace, id), join(workRoot, namespace, id), unmountRootfs);
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
  static async create(
    stateRoot: string,
    workRoot: string,
    namespace: string,
    id: string,
    spec: Uint8Array,
    unmountRootfs: (rootfs: string) => Promise<void>,
    { linkWork = true } = {},
  ): Promise<Bundle> {
    validateIdentifier(namespace, "namespace");
    validateIdentifier(id, "id");
    const bundle = Bundle.at(stateRoot, workRoot, namespace, id, unmountRootfs);
    const rootGid = remappedRootGid(spec);
    await mkdir(join(stateRoot, namespace), { recursive: true, mode: 0o711 });
    try {
      await mkdir(bundle.path, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") throw alreadyExists(`bundle for task ${id}`);
      throw error;
    }
    try {
      if (rootGid !== 0) await openToRemappedRoot(bundle.path, rootGid);
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
    await this.unmountRootfs(this.rootfs);
    await rm(this.path, { recursive: true, force: true });
    await rm(this.workDir, { recursive: true, force: true });
  }
}

/**
 * A container in a user namespace runs as a root that is not the host's, and must still reach
 * its rootfs through the bundle: as containerd does, the bundle gets the group of the host gid
 * that container gid 0 maps to, and mode 0710 (that group may traverse it, nothing more).
 */
async function openToRemappedRoot(path: string, gid: number): Promise<void> {
  await chown(path, -1, gid);
  await chmod(path, 0o710);
}

interface IdMapping {
  readonly containerID?: unknown;
  readonly hostID?: unknown;
}

/** The host gid that container gid 0 maps to (`linux.gidMappings`), or 0 without such a mapping. */
function remappedRootGid(spec: Uint8Array): number {
  let mappings: unknown;
  try {
    mappings = (JSON.parse(Buffer.from(spec).toString("utf8")) as { linux?: { gidMappings?: unknown } } | null)?.linux?.gidMappings;
  } catch (error) {
    throw invalidArgument(`spec: not JSON: ${(error as Error).message}`);
  }
  if (mappings === undefined || mappings === null) return 0;
  if (!Array.isArray(mappings)) throw invalidArgument("spec: linux.gidMappings must be a list");
  const index = (mappings as IdMapping[]).findIndex((mapping) => (mapping?.containerID ?? 0) === 0);
  if (index < 0) return 0;
  const hostId = (mappings as IdMapping[])[index]!.hostID ?? 0;
  if (!Number.isInteger(hostId) || (hostId as number) < 0 || (hostId as number) > 0xffff_ffff) {
    throw invalidArgument(`spec: linux.gidMappings[${index}].hostID must be an unsigned 32-bit integer`);
  }
  return hostId as number;
}
