import { readFile } from "node:fs/promises";
import { failedPrecondition, notFound } from "@berth/api";
import { rootPath } from "@berth/diff";

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

/** Colon-separated records, comments and blank lines skipped; a missing number reads as 0 (as Go's user parser). */
function records(text: string): string[][] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(":"));
}

const number = (text: string | undefined) => {
  const value = Number.parseInt(text ?? "", 10);
  return Number.isNaN(value) ? 0 : value;
};

export function parsePasswd(text: string): PasswdEntry[] {
  return records(text).map(([name = "", , uid, gid]) => ({ name, uid: number(uid), gid: number(gid) }));
}

export function parseGroup(text: string): GroupEntry[] {
  return records(text).map(([name = "", , gid, members = ""]) => ({ name, gid: number(gid), members: members.split(",").filter(Boolean) }));
}

/** A file of the container's root filesystem, symlinks resolved inside it; undefined when absent. */
async function readInRoot(root: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(await rootPath(root, name), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The users of an image's /etc/passwd; undefined when it has none. */
export async function readPasswd(root: string): Promise<PasswdEntry[] | undefined> {
  const text = await readInRoot(root, "/etc/passwd");
  return text === undefined ? undefined : parsePasswd(text);
}

export async function readGroups(root: string): Promise<GroupEntry[] | undefined> {
  const text = await readInRoot(root, "/etc/group");
  return text === undefined ? undefined : parseGroup(text);
}

/** containerd's UserFromPath: the first user matching, NotFound ("no users found") otherwise. */
export async function findUser(root: string, match: (user: PasswdEntry) => boolean): Promise<PasswdEntry> {
  const users = await readPasswd(root);
  if (users === undefined) throw notFound("/etc/passwd: no such file in the image");
  const user = users.find(match);
  if (user === undefined) throw notFound("no users found");
  return user;
}

/** containerd's GIDFromPath: the gid of the first group matching. */
export async function findGroupId(root: string, match: (group: GroupEntry) => boolean): Promise<number> {
  const groups = await readGroups(root);
  if (groups === undefined) throw notFound("/etc/group: no such file in the image");
  const group = groups.find(match);
  if (group === undefined) throw failedPrecondition("no groups found");
  return group.gid;
}
