import { type Image, isKind, notFound } from "@berth/api";
import type { criV1 } from "@berth/api/cri";
import { type Client, imageRootfs, pull, recordImage } from "@berth/client";
import { type Credentials, normalizeReference } from "@berth/remotes";
import type { CriConfig } from "./config.js";
import type { SnapshotUsageCache } from "./usage.js";

export const managedLabel = "io.cri-containerd.image";

/** One image as the CRI sees it: every containerd image record whose target has the same config. */
export interface CriImage {
  /** `sha256:<config digest>`. */
  readonly id: string;
  readonly records: readonly Image[];
  readonly repoTags: string[];
  readonly repoDigests: string[];
  readonly size: number;
  readonly chainId: string;
  readonly user: string;
  readonly stopSignal: string;
}

interface TargetFacts {
  readonly configDigest: string;
  readonly size: number;
  readonly chainId: string;
  readonly user: string;
  readonly stopSignal: string;
}

const isDigestRef = (name: string) => /@sha256:[a-f0-9]{64}$/.test(name);
const isTagRef = (name: string) => !isDigestRef(name) && !name.startsWith("sha256:") && /:[\w][\w.-]*$/.test(name.slice(name.lastIndexOf("/")));

/** Docker's `auth`: base64 of `user:password`. */
function decodeAuth(auth: string): Credentials {
  const [username = "", ...rest] = Buffer.from(auth, "base64").toString("utf8").split(":");
  return { username, password: rest.join(":") };
}

/** The images the CRI manages, in containerd's namespace `k8s.io`. */
export class CriImages {
  readonly #facts = new Map<string, TargetFacts>();

  constructor(
    private readonly client: Client,
    private readonly config: CriConfig,
    readonly snapshotterRoot: string,
    private readonly usage: SnapshotUsageCache,
  ) {}

  async #factsOf(image: Image): Promise<TargetFacts | undefined> {
    const cached = this.#facts.get(image.target.digest);
    if (cached !== undefined) return cached;
    try {
      const rootfs = await imageRootfs(this.client, this.client.context(), image.target);
      const size =
        (image.target.digest === rootfs.manifest.digest ? 0 : image.target.size) +
        rootfs.manifest.size +
        rootfs.config.size +
        rootfs.layers.reduce((sum, l) => sum + l.size, 0);
      const facts = {
        configDigest: rootfs.config.digest,
        size,
        chainId: rootfs.chainId,
        user: rootfs.process.User ?? "",
        stopSignal: rootfs.process.StopSignal ?? "",
      };
      this.#facts.set(image.target.digest, facts);
      return facts;
    } catch {
      return undefined; // incomplete content: not an image the CRI can use
    }
  }

  async list(): Promise<CriImage[]> {
    const byId = new Map<string, { facts: TargetFacts; records: Image[] }>();
    for (const record of await this.client.images.list(this.client.context(), [])) {
      const facts = await this.#factsOf(record);
      if (facts === undefined) continue;
      const entry = byId.get(facts.configDigest) ?? { facts, records: [] };
      entry.records.push(record);
      byId.set(facts.configDigest, entry);
    }
    return [...byId.entries()].map(([id, { facts, records }]) => ({
      id,
      records,
      repoTags: records
        .map((r) => r.name)
        .filter(isTagRef)
        .sort(),
      repoDigests: records
        .map((r) => r.name)
        .filter(isDigestRef)
        .sort(),
      size: facts.size,
      chainId: facts.chainId,
      user: facts.user,
      stopSignal: facts.stopSignal,
    }));
  }

  /**
   * containerd's localResolve: an image id (or a unique prefix of one, with or without `sha256:`),
   * else a reference normalised Docker-style; undefined when there is none.
   */
  async resolve(ref: string): Promise<CriImage | undefined> {
    const images = await this.list();
    let name: string | undefined;
    try {
      name = normalizeReference(ref);
    } catch {
      name = undefined;
    }
    if (name !== undefined) {
      const byName = images.find((image) => image.records.some((r) => r.name === name));
      if (byName !== undefined) return byName;
    }
    const hex = ref.startsWith("sha256:") ? ref.slice("sha256:".length) : ref;
    if (!/^[a-f0-9]+$/.test(hex) || hex.length === 0) return undefined;
    const matches = images.filter((image) => image.id.slice("sha256:".length).startsWith(hex));
    return matches.length === 1 ? matches[0] : undefined;
  }

  async get(ref: string): Promise<CriImage> {
    const image = await this.resolve(ref);
    if (image === undefined) throw notFound(`failed to resolve image ${JSON.stringify(ref)}: not found`);
    return image;
  }

  toCri(image: CriImage): criV1.Image {
    const user = image.user.split(":")[0] ?? "";
    const numeric = /^\d+$/.test(user);
    return {
      id: image.id,
      repoTags: image.repoTags,
      repoDigests: image.repoDigests,
      size: image.size,
      uid: numeric ? { value: Number(user) } : undefined,
      username: numeric ? "" : user,
      spec: undefined,
      pinned: false,
    };
  }

  #credentials(auth: criV1.AuthConfig | undefined, host: string): Credentials | undefined {
    if (auth !== undefined && (auth.serverAddress === "" || auth.serverAddress.replace(/^https?:\/\//, "").split("/")[0] === host)) {
      if (auth.identityToken !== "") return { username: "", password: auth.identityToken };
      if (auth.username !== "" || auth.password !== "") return { username: auth.username, password: auth.password };
      if (auth.auth !== "") return decodeAuth(auth.auth);
    }
    const configured = this.config.registry.configs[host]?.auth;
    if (configured === undefined) return undefined;
    if (configured.identitytoken) return { username: "", password: configured.identitytoken };
    if (configured.auth) return decodeAuth(configured.auth);
    return { username: configured.username ?? "", password: configured.password ?? "" };
  }

  /** PullImage: fetch and unpack, then the `name:tag`, `name@digest` and `sha256:<config>` records. */
  async pull(ref: string, auth?: criV1.AuthConfig): Promise<string> {
    const name = normalizeReference(ref);
    const labels = { [managedLabel]: "managed" };
    const hostsDir = this.config.registry.config_path.split(":")[0] || undefined;
    const image = await pull(this.client, name, {
      ...(hostsDir !== undefined ? { hostsDir } : {}),
      credentials: (host: string) => this.#credentials(auth, host),
      unpack: this.config.containerd.snapshotter,
      labels,
      concurrency: this.config.max_concurrent_downloads,
    });
    const facts = await this.#factsOf(image);
    if (facts === undefined) throw notFound(`failed to pull image ${JSON.stringify(ref)}: incomplete content`);
    const repository = name.replace(/[:@][^/]*$/, "");
    const names = new Set([name, `${repository}@${image.target.digest}`, facts.configDigest]);
    for (const extra of names) if (extra !== name) await recordImage(this.client, extra, image.target, labels);
    return facts.configDigest;
  }

  /** RemoveImage: every record of the image; nothing when there is none. */
  async remove(ref: string): Promise<void> {
    const image = await this.resolve(ref);
    if (image === undefined) return;
    const names = image.records.map((r) => r.name);
    for (const [i, name] of names.entries()) {
      try {
        await this.client.images.delete(this.client.context(), name, i === names.length - 1);
      } catch (error) {
        if (!isKind(error, "NotFound")) throw error;
      }
    }
  }

  /** ImageFsInfo: what the snapshotter's snapshots use, as last sampled. */
  async fsInfo(): Promise<criV1.FilesystemUsage> {
    const samples = [...(await this.usage.samples()).values()];
    const timestamp = samples.length === 0 ? Date.now() * 1e6 : Math.min(...samples.map((s) => s.timestamp));
    return {
      timestamp,
      fsId: { mountpoint: this.snapshotterRoot },
      usedBytes: { value: samples.reduce((sum, s) => sum + s.size, 0) },
      inodesUsed: { value: samples.reduce((sum, s) => sum + s.inodes, 0) },
    };
  }
}
