/** The MS_* flags of mount(2) on Linux, by their kernel names. */
export const mountFlags = Object.freeze({
  MS_RDONLY: 0x1,
  MS_NOSUID: 0x2,
  MS_NODEV: 0x4,
  MS_NOEXEC: 0x8,
  MS_SYNCHRONOUS: 0x10,
  MS_REMOUNT: 0x20,
  MS_MANDLOCK: 0x40,
  MS_DIRSYNC: 0x80,
  MS_NOATIME: 0x400,
  MS_NODIRATIME: 0x800,
  MS_BIND: 0x1000,
  MS_REC: 0x4000,
  MS_SILENT: 0x8000,
  MS_UNBINDABLE: 0x20000,
  MS_PRIVATE: 0x40000,
  MS_SLAVE: 0x80000,
  MS_SHARED: 0x100000,
  MS_RELATIME: 0x200000,
  MS_STRICTATIME: 0x1000000,
});

const {
  MS_RDONLY,
  MS_NOSUID,
  MS_NODEV,
  MS_NOEXEC,
  MS_SYNCHRONOUS,
  MS_REMOUNT,
  MS_MANDLOCK,
  MS_DIRSYNC,
  MS_NOATIME,
  MS_NODIRATIME,
  MS_BIND,
  MS_REC,
  MS_UNBINDABLE,
  MS_PRIVATE,
  MS_SLAVE,
  MS_SHARED,
  MS_RELATIME,
  MS_STRICTATIME,
} = mountFlags;

/** Propagation changes, which mount(2) only takes in a call of their own. */
export const propagationFlags = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

// containerd's table (mount/mount_linux.go): `clear` options switch their flag off again.
const table: ReadonlyMap<string, { readonly clear: boolean; readonly flag: number }> = new Map([
  ["async", { clear: true, flag: MS_SYNCHRONOUS }],
  ["atime", { clear: true, flag: MS_NOATIME }],
  ["bind", { clear: false, flag: MS_BIND }],
  ["defaults", { clear: false, flag: 0 }],
  ["dev", { clear: true, flag: MS_NODEV }],
  ["diratime", { clear: true, flag: MS_NODIRATIME }],
  ["dirsync", { clear: false, flag: MS_DIRSYNC }],
  ["exec", { clear: true, flag: MS_NOEXEC }],
  ["mand", { clear: false, flag: MS_MANDLOCK }],
  ["noatime", { clear: false, flag: MS_NOATIME }],
  ["nodev", { clear: false, flag: MS_NODEV }],
  ["nodiratime", { clear: false, flag: MS_NODIRATIME }],
  ["noexec", { clear: false, flag: MS_NOEXEC }],
  ["nomand", { clear: true, flag: MS_MANDLOCK }],
  ["norelatime", { clear: true, flag: MS_RELATIME }],
  ["nostrictatime", { clear: true, flag: MS_STRICTATIME }],
  ["nosuid", { clear: false, flag: MS_NOSUID }],
  ["private", { clear: false, flag: MS_PRIVATE }],
  ["rprivate", { clear: false, flag: MS_PRIVATE | MS_REC }],
  ["shared", { clear: false, flag: MS_SHARED }],
  ["rshared", { clear: false, flag: MS_SHARED | MS_REC }],
  ["slave", { clear: false, flag: MS_SLAVE }],
  ["rslave", { clear: false, flag: MS_SLAVE | MS_REC }],
  ["unbindable", { clear: false, flag: MS_UNBINDABLE }],
  ["runbindable", { clear: false, flag: MS_UNBINDABLE | MS_REC }],
  ["rbind", { clear: false, flag: MS_BIND | MS_REC }],
  ["relatime", { clear: false, flag: MS_RELATIME }],
  ["remount", { clear: false, flag: MS_REMOUNT }],
  ["ro", { clear: false, flag: MS_RDONLY }],
  ["rw", { clear: true, flag: MS_RDONLY }],
  ["strictatime", { clear: false, flag: MS_STRICTATIME }],
  ["suid", { clear: true, flag: MS_NOSUID }],
  ["sync", { clear: false, flag: MS_SYNCHRONOUS }],
]);

export interface ParsedMountOptions {
  /** MS_* flags, propagation included; later options win over earlier ones (`ro,rw` is rw). */
  readonly flags: number;
  /** Everything that is not a flag, in order: the filesystem's own options (mount(2)'s data). */
  readonly data: readonly string[];
}

/** Splits mount(8)-style options into MS_* flags and filesystem data, as containerd does. */
export function parseMountOptions(options: readonly string[]): ParsedMountOptions {
  let flags = 0;
  const data: string[] = [];
  for (const option of options) {
    const entry = table.get(option);
    if (entry === undefined) data.push(option);
    else if (entry.clear) flags &= ~entry.flag;
    else flags |= entry.flag;
  }
  return { flags, data };
}
