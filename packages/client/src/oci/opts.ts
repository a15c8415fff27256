import { readFile } from "node:fs/promises";
import type { CallContext, Mount } from "@berth/api";
import { failedPrecondition, invalidArgument } from "@berth/api";
import type { ImageRunDefaults } from "@berth/oci";
import { replaceOrAppendEnv } from "@berth/runtime-windows/spec";
import { withMounts } from "@berth/mount";
import type { Client } from "../client.js";
import { type OciMount, type OciProcess, type OciSpec, defaultSpec } from "./spec.js";
import { goPathError } from "./os-errors.js";
import { findGroupId, findUser, readGroups, readPasswd } from "./users.js";

/** The container a spec is made for: its id and, when it has one, its root filesystem snapshot. */
export interface SpecTarget {
  readonly client: Client;
  readonly context: CallContext;
  readonly container: { readonly id: string; readonly snapshotter: string; readonly snapshotKey: string };
}

/** A change to a spec, as containerd's `oci.SpecOpts`; applied in order. */
export type SpecOpt = (spec: OciSpec, target: SpecTarget) => void | Promise<void>;

/** The default spec for the target container, with `opts` applied in order (containerd's oci.GenerateSpec). */
export async function generateSpec(target: SpecTarget, ...opts: SpecOpt[]): Promise<OciSpec> {
  const spec = defaultSpec(target.context.namespace ?? "default", target.container.id);
  for (const opt of opts) await opt(spec, target);
  return spec;
}

const processOf = (spec: OciSpec): OciProcess => (spec.process ??= { user: { uid: 0, gid: 0 }, cwd: "" });

// containerd's replaceOrAppendEnvValues, one for the Linux and the Windows spec alike.
export { replaceOrAppendEnv };

export const withEnv =
  (env: readonly string[]): SpecOpt =>
  (spec) => {
    if (env.length === 0) return;
    const process = processOf(spec);
    process.env = replaceOrAppendEnv(process.env ?? [], env);
  };

/** containerd's WithEnvFile: one `KEY=value` a line (a trailing CR dropped), as withEnv takes them. */
export const withEnvFile =
  (path: string): SpecOpt =>
  async (spec, target) => {
    const text = await readFile(path, "utf8").catch((error: unknown) => {
      throw new Error(goPathError("open", path, error));
    });
    const lines = text.split("\n").map((line) => line.replace(/\r$/, ""));
    if (lines.at(-1) === "") lines.pop();
    return withEnv(lines)(spec, target);
  };

export const withProcessArgs =
  (...args: string[]): SpecOpt =>
  (spec) => {
    processOf(spec).args = args;
  };

export const withProcessCwd =
  (cwd: string): SpecOpt =>
  (spec) => {
    processOf(spec).cwd = cwd;
  };

/** A terminal for the process, and TERM=xterm. */
export const withTty: SpecOpt = (spec, target) => {
  processOf(spec).terminal = true;
  return withEnv(["TERM=xterm"])(spec, target);
};

export const withMountsAdded =
  (mounts: readonly OciMount[]): SpecOpt =>
  (spec) => {
    spec.mounts = [...(spec.mounts ?? []), ...mounts];
  };

export const withAnnotations =
  (annotations: Readonly<Record<string, string>>): SpecOpt =>
  (spec) => {
    if (Object.keys(annotations).length === 0) return;
    spec.annotations = { ...spec.annotations, ...annotations };
  };

/** Shares the host's namespace of `type` (e.g. "network") by not creating one. */
export const withHostNamespace =
  (type: string): SpecOpt =>
  (spec) => {
    if (spec.linux?.namespaces) spec.linux.namespaces = spec.linux.namespaces.filter((ns) => ns.type !== type);
  };

/** Joins (with `path`) or creates a namespace of `type`, replacing one of the same type. */
export const withLinuxNamespace =
  (namespace: { type: string; path?: string }): SpecOpt =>
  (spec) => {
    const linux = (spec.linux ??= {});
    const namespaces = linux.namespaces ?? [];
    const at = namespaces.findIndex((ns) => ns.type === namespace.type);
    linux.namespaces = at === -1 ? [...namespaces, namespace] : namespaces.map((ns, i) => (i === at ? namespace : ns));
  };

const hostFile = (path: string): OciMount => ({ destination: path, type: "bind", source: path, options: ["rbind", "ro"] });
export const withHostHostsFile: SpecOpt = withMountsAdded([hostFile("/etc/hosts")]);
export const withHostResolvconf: SpecOpt = withMountsAdded([hostFile("/etc/resolv.conf")]);

export const withRootfsReadonly: SpecOpt = (spec) => {
  spec.root = { path: spec.root?.path ?? "rootfs", readonly: true };
};

/** An overlay mount without its upper layer, so that reading the image cannot change the snapshot (containerd's tryReadonlyMounts). */
export function readonlyMounts(mounts: readonly Mount[]): Mount[] {
  if (mounts.length !== 1 || mounts[0]!.type !== "overlay") return [...mounts];
  const mount = mounts[0]!;
  const upper = mount.options.find((o) => o.startsWith("upperdir="))?.slice("upperdir=".length);
  const options = mount.options
    .filter((o) => !o.startsWith("upperdir=") && !o.startsWith("workdir="))
    .map((o) => (upper !== undefined && o.startsWith("lowerdir=") ? `lowerdir=${upper}:${o.slice("lowerdir=".length)}` : o));
  return [{ ...mount, options }];
}

/** Runs `read` on the container's root filesystem: its snapshot mounted read-only, or an absolute root path. */
export async function inRootfs<T>(spec: OciSpec, target: SpecTarget, read: (root: string) => Promise<T>): Promise<T> {
  const { snapshotter, snapshotKey } = target.container;
  if (snapshotter === "" && snapshotKey === "") {
    const path = spec.root?.path ?? "";
    if (!path.startsWith("/")) throw invalidArgument("spec.root.path: rootfs absolute path is required");
    return read(path);
  }
  if (snapshotter === "") throw failedPrecondition("no snapshotter set for container");
  if (snapshotKey === "") throw failedPrecondition("rootfs snapshot not created for container");
  const mounts = await target.client.snapshotter(snapshotter).mounts(target.context, snapshotKey);
  return withMounts(readonlyMounts(mounts), read);
}

const isNumber = (text: string) => /^[+-]?\d+$/.test(text);

/**
 * containerd's WithUser: `user`, `uid`, `user:group`, `uid:gid` (and mixes), names looked up in
 * the image's /etc/passwd and /etc/group. A numeric uid missing from /etc/passwd gets gid 0.
 */
async function resolveUser(root: string, user: string): Promise<{ uid: number; gid: number }> {
  const parts = user.split(":");
  if (parts.length === 1) {
    if (!isNumber(user)) {
      const found = await findUser(root, (u) => u.name === user);
      return { uid: found.uid, gid: found.gid };
    }
    const uid = Number(user);
    const found = (await readPasswd(root))?.find((u) => u.uid === uid);
    return { uid, gid: found?.gid ?? 0 };
  }
  if (parts.length !== 2) throw invalidArgument(`image config user: invalid USER value ${user}`);
  const [name = "", group = ""] = parts;
  const uid = isNumber(name) ? Number(name) : (await findUser(root, (u) => u.name === name)).uid;
  const gid = isNumber(group) ? Number(group) : await findGroupId(root, (g) => g.name === group);
  return { uid, gid };
}

/**
 * containerd's WithAdditionalGIDs: the groups of the image's /etc/group that list the user
 * (`user` is a name, or a uid looked up in /etc/passwd), its primary group first.
 */
async function additionalGids(root: string, user: string, primaryGid: number): Promise<number[]> {
  let name: string | undefined = user;
  if (isNumber(user)) name = (await readPasswd(root))?.find((u) => u.uid === Number(user))?.name;
  const groups = name === undefined ? [] : ((await readGroups(root)) ?? []).filter((g) => g.name !== name && g.members.includes(name!)).map((g) => g.gid);
  return groups.includes(primaryGid) ? groups : [primaryGid, ...groups];
}

/** Runs the process as `user` (see resolveUser), with the groups /etc/group gives it. */
export const withUser =
  (user: string): SpecOpt =>
  async (spec, target) => {
    const process = processOf(spec);
    const parts = user.split(":");
    // uid:gid needs no look-up, and works on images without /etc/passwd.
    const numericOnly = parts.length === 2 && isNumber(parts[0]!) && isNumber(parts[1]!);
    await inRootfs(spec, target, async (root) => {
      const { uid, gid } = numericOnly ? { uid: Number(parts[0]), gid: Number(parts[1]) } : await resolveUser(root, user);
      process.user = { ...process.user, uid, gid, additionalGids: await additionalGids(root, String(uid), gid) };
    });
  };

/** The part of an image's config (OCI `config` object) a spec is made from. */
export type ImageProcessConfig = ImageRunDefaults;

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * containerd's WithImageConfigArgs: the image's environment under the spec's, entrypoint + cmd (or
 * `args` in place of cmd), working directory ("/" by default) and user with its groups, read from
 * the image's /etc/passwd and /etc/group (root's groups when the image names no user).
 */
export const withImageConfig =
  (config: ImageProcessConfig, args: readonly string[] = []): SpecOpt =>
  async (spec, target) => {
    const process = processOf(spec);
    const defaults = config.Env && config.Env.length > 0 ? config.Env : [defaultPath];
    process.env = replaceOrAppendEnv(defaults, process.env ?? []);
    process.args = [...(config.Entrypoint ?? []), ...(args.length > 0 ? args : (config.Cmd ?? []))];
    process.cwd = config.WorkingDir || "/";
    if (config.User) return withUser(config.User)(spec, target);
    await inRootfs(spec, target, async (root) => {
      process.user.additionalGids = await additionalGids(root, "root", process.user.gid);
    });
  };
