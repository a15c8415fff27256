import { chmod, lstat, mkdir, readFile, readdir, readlink, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { CallContext, Mount, SnapshotInfo, Snapshotter, Timestamp } from "@berth/api";
import { withMounts } from "@berth/mount";

/** What `create` hands the suite for one test. */
export interface SnapshotterUnderTest {
  /** A snapshotter holding no snapshots the test could meet (a fresh root, or a fresh namespace). */
  readonly snapshotter: Snapshotter;
  /** The context every call is made with (e.g. carrying the namespace). */
  readonly context: CallContext;
  /** A scratch directory where the suite makes its temporary mount points. */
  readonly root: string;
  /**
   * True when every snapshot holds a whole copy of its parent (containerd's native): usage then
   * counts the parent's bytes too, as containerd reports them. Default false: only its own layer.
   */
  readonly usageIncludesParents?: boolean;
  /**
   * Mounts what mount(2) cannot (Windows layers, over a model of them) on a temporary directory
   * under `tempDir` for the length of `fn`; default `withMounts` of @berth/mount.
   */
  readonly withMounts?: MountRunner;
  close(): Promise<void>;
}

export type MountRunner = <T>(mounts: readonly Mount[], fn: (dir: string) => T | Promise<T>, tempDir: string) => Promise<T>;

/** A tree as the suite compares it: relative path → "dir 755", "file 644 <content>" or "link -> <target>". */
export type Tree = Record<string, string>;

export async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.seconds - b.seconds || a.nanos - b.nanos;
}

/** The tree under `root` (root itself as "."), with modes, file contents and link targets. */
export async function readTree(root: string): Promise<Tree> {
  const tree: Tree = {};
  const visit = async (relative: string): Promise<void> => {
    const path = relative === "." ? root : join(root, relative);
    const stats = await lstat(path);
    const mode = (stats.mode & 0o7777).toString(8);
    if (stats.isSymbolicLink()) tree[relative] = `link -> ${await readlink(path)}`;
    else if (stats.isFile()) tree[relative] = `file ${mode} ${await readFile(path, "utf8")}`;
    else if (stats.isDirectory()) {
      tree[relative] = `dir ${mode}`;
      for (const name of (await readdir(path)).sort()) await visit(relative === "." ? name : `${relative}/${name}`);
    } else tree[relative] = `other ${stats.mode.toString(8)}`;
  };
  await visit(".");
  return tree;
}

/**
 * Writes files under `dir` with exact modes (whatever the umask): each path ending in "/" is a
 * directory (mode 0755), anything else a file with that content (mode 0644); parents are made.
 */
export async function writeFiles(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const target = join(dir, path);
    if (path.endsWith("/")) {
      await mkdir(target, { recursive: true });
      await chmod(target, 0o755);
    } else {
      await mkdir(join(target, ".."), { recursive: true });
      await writeFile(target, content);
      await chmod(target, 0o644);
    }
  }
}

/** The error code of a synchronous or asynchronous fs action that should fail ("none" if it did not). */
export async function codeOfFailure(action: () => unknown): Promise<string> {
  try {
    await action();
    return "none";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

/** One test's view of the snapshotter: calls with its context, mounts under its scratch root. */
export class Harness {
  readonly #tag = randomBytes(3).toString("hex");
  #count = 0;

  constructor(
    readonly snapshotter: Snapshotter,
    readonly context: CallContext,
    readonly root: string,
    readonly usageIncludesParents = false,
    readonly mountRunner: MountRunner = (mounts, fn, tempDir) => withMounts(mounts, fn, { tempDir }),
  ) {}

  /** A key no other test uses, readable in failures. */
  key(what: string): string {
    this.#count += 1;
    return `${what}-${this.#tag}-${this.#count}`;
  }

  prepare(key: string, parent = "", labels?: Record<string, string>): Promise<Mount[]> {
    return this.snapshotter.prepare(this.context, key, parent, labels);
  }

  view(key: string, parent = "", labels?: Record<string, string>): Promise<Mount[]> {
    return this.snapshotter.view(this.context, key, parent, labels);
  }

  commit(name: string, key: string, labels?: Record<string, string>): Promise<void> {
    return this.snapshotter.commit(this.context, name, key, labels);
  }

  stat(key: string): Promise<SnapshotInfo> {
    return this.snapshotter.stat(this.context, key);
  }

  /** The snapshots `list` gives, sorted by name. */
  async list(filters: readonly string[] = []): Promise<SnapshotInfo[]> {
    return (await drain(this.snapshotter.list(this.context, filters))).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async listNames(filters: readonly string[]): Promise<string[]> {
    return (await this.list(filters)).map((info) => info.name);
  }

  /** Mounts `mounts` (or the mounts of `key`) on a temporary directory for the length of `fn`. */
  async mounted<T>(what: readonly Mount[] | string, fn: (dir: string) => T | Promise<T>): Promise<T> {
    const mounts = typeof what === "string" ? await this.snapshotter.mounts(this.context, what) : what;
    return this.mountRunner(mounts, fn, this.root);
  }

  async tree(what: readonly Mount[] | string): Promise<Tree> {
    return this.mounted(what, readTree);
  }

  /** Prepares on `parent`, lets `change` edit the mounted tree, commits; returns the committed name. */
  async layer(parent: string, change: (dir: string) => unknown, labels?: Record<string, string>): Promise<string> {
    const key = this.key("layer-active");
    const name = this.key("layer");
    await this.mounted(await this.prepare(key, parent), change);
    await this.commit(name, key, labels);
    return name;
  }

  /** The tree a read-only view of committed `name` shows; the view is removed again. */
  async committedTree(name: string): Promise<Tree> {
    const key = this.key("peek");
    try {
      return await this.tree(await this.view(key, name));
    } finally {
      await this.snapshotter.remove(this.context, key);
    }
  }

  /** Removes every snapshot the context can see, children first, so that a namespace is left empty. */
  async removeAll(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      const infos = await this.list();
      if (infos.length === 0) return;
      const parents = new Set(infos.map((info) => info.parent));
      const leaves = infos.filter((info) => !parents.has(info.name));
      if (leaves.length === 0) return;
      for (const leaf of leaves) await this.snapshotter.remove(this.context, leaf.name);
    }
  }
}
