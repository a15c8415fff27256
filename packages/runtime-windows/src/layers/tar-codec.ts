import { invalidArgument, notImplemented } from "@berth/api";
import {
  type BackupRecord,
  decodeBackupStream,
  decodeExtendedAttributes,
  decodeReparsePoint,
  encodeBackupRecord,
  encodeExtendedAttributes,
  encodeReparsePoint,
  streamIds,
} from "./backup-stream.js";

/**
 * The Windows layer tar ⇄ backup stream codec (go-winio's backuptar, which containerd's windows
 * differ uses). A layer tar holds `Files/…`, `Hives/…` and `UtilityVM/Files/…`; what NTFS keeps
 * beside the data travels in PAX records:
 * - `MSWINDOWS.fileattr`: Win32 attributes, decimal (absent: the directory attribute for a directory);
 * - `MSWINDOWS.rawsd`: the self-relative security descriptor, base64 (`MSWINDOWS.sd`, SDDL, is legacy);
 * - `MSWINDOWS.mountpoint`: present for a junction (a symlink entry otherwise is a symbolic link);
 * - `MSWINDOWS.xattr.<name>`: an extended attribute, base64;
 * - `LIBARCHIVE.creationtime`: the creation time (absent: the modification time).
 * An alternate data stream is a regular entry `<file>:<stream>` right after its file.
 */
export const paxKeys = {
  fileAttributes: "MSWINDOWS.fileattr",
  rawSecurityDescriptor: "MSWINDOWS.rawsd",
  securityDescriptor: "MSWINDOWS.sd",
  mountPoint: "MSWINDOWS.mountpoint",
  extendedAttributePrefix: "MSWINDOWS.xattr.",
  creationTime: "LIBARCHIVE.creationtime",
} as const;

export const fileAttributeDirectory = 0x10;
const fileAttributeReparsePoint = 0x400;

export type LayerEntryType = "file" | "directory" | "symlink" | "link";

/** A layer tar entry's header, as much of it as the codec reads or writes. */
export interface LayerTarHeader {
  readonly name: string;
  readonly type: LayerEntryType;
  readonly size: number;
  /** Modification time, 100 ns units since the Unix epoch (exact, unlike a float of seconds). */
  readonly mtime: bigint;
  readonly linkname?: string;
  readonly pax: Readonly<Record<string, string>>;
}

/** What BackupWrite's caller sets with SetFileInformationByHandle: times as FILETIMEs (100 ns since 1601). */
export interface WindowsFileInfo {
  readonly creationTime: bigint;
  readonly lastAccessTime: bigint;
  readonly lastWriteTime: bigint;
  readonly changeTime: bigint;
  readonly fileAttributes: number;
}

const epochDelta = 116_444_736_000_000_000n;

/** A PAX time (`seconds[.fraction]`) in 100 ns units since the Unix epoch, truncating finer digits as Go does. */
export function paxTimeUnits(text: string): bigint {
  const match = /^(-?\d+)(?:\.(\d+))?$/.exec(text);
  if (match === null) throw invalidArgument(`PAX time ${JSON.stringify(text)}: not a number of seconds`);
  const fraction = BigInt((match[2] ?? "").padEnd(7, "0").slice(0, 7));
  const seconds = BigInt(match[1]!);
  return seconds * 10_000_000n + (match[1]!.startsWith("-") ? -fraction : fraction);
}

/** 100 ns units since the Unix epoch → `seconds.fraction` with 7 digits, as libarchive writes it. */
export function unitsToPaxTime(units: bigint): string {
  const seconds = units / 10_000_000n;
  const fraction = (units < 0n ? -units : units) % 10_000_000n;
  return `${seconds}.${fraction.toString().padStart(7, "0")}`;
}

export const toFiletime = (units: bigint): bigint => units + epochDelta;
export const fromFiletime = (filetime: bigint): bigint => filetime - epochDelta;

/** The file's name, size and Win32 information, from its header (go-winio's FileInfoFromHeader). */
export function fileInfoFromHeader(header: LayerTarHeader): { name: string; size: number; info: WindowsFileInfo } {
  const size = header.type === "file" ? header.size : 0;
  const written = toFiletime(header.mtime);
  const created = header.pax[paxKeys.creationTime];
  const attributes = header.pax[paxKeys.fileAttributes];
  let fileAttributes: number;
  if (attributes !== undefined) {
    fileAttributes = Number(attributes);
    if (!Number.isInteger(fileAttributes) || fileAttributes < 0 || fileAttributes > 0xffffffff)
      throw invalidArgument(`${header.name}: ${paxKeys.fileAttributes} ${JSON.stringify(attributes)} is not a 32-bit number`);
  } else fileAttributes = header.type === "directory" ? fileAttributeDirectory : 0;
  return {
    name: header.name,
    size,
    info: {
      creationTime: created === undefined ? written : toFiletime(paxTimeUnits(created)),
      lastAccessTime: written,
      lastWriteTime: written,
      changeTime: written,
      fileAttributes,
    },
  };
}

/** An alternate data stream of a file: the `<file>:<stream>` entry that followed it. */
export interface AlternateStream {
  readonly stream: string;
  readonly data: Buffer;
}

/**
 * The backup stream BackupWrite takes for one tar entry (go-winio's WriteBackupStreamFromTarFile),
 * in its order: security descriptor, extended attributes, reparse data (links), the file's data,
 * then each alternate data stream named `:<stream>:$DATA`.
 */
export function backupStreamFromTarEntry(header: LayerTarHeader, data: Buffer, alternates: readonly AlternateStream[] = []): Buffer {
  const records: BackupRecord[] = [];
  const raw = header.pax[paxKeys.rawSecurityDescriptor];
  if (raw !== undefined) records.push({ id: streamIds.security, attributes: 0, name: "", data: Buffer.from(raw, "base64") });
  else if (header.pax[paxKeys.securityDescriptor] !== undefined)
    throw notImplemented(`${header.name}: ${paxKeys.securityDescriptor} (SDDL) needs Windows to convert`);
  const attributes = Object.entries(header.pax)
    .filter(([key]) => key.startsWith(paxKeys.extendedAttributePrefix))
    .map(([key, value]) => ({ name: key.slice(paxKeys.extendedAttributePrefix.length), flags: 0, value: Buffer.from(value, "base64") }));
  if (attributes.length > 0) records.push({ id: streamIds.eaData, attributes: 0, name: "", data: encodeExtendedAttributes(attributes) });
  if (header.type === "symlink") {
    records.push({
      id: streamIds.reparseData,
      attributes: 0,
      name: "",
      data: encodeReparsePoint({ target: header.linkname ?? "", mountPoint: header.pax[paxKeys.mountPoint] !== undefined }),
    });
  }
  if (header.type === "file") {
    if (data.length !== header.size) throw invalidArgument(`${header.name}: ${data.length} bytes of data for a size of ${header.size}`);
    records.push({ id: streamIds.data, attributes: 0, name: "", data });
  }
  for (const alternate of alternates) records.push({ id: streamIds.alternateData, attributes: 0, name: `:${alternate.stream}:$DATA`, data: alternate.data });
  return Buffer.concat(records.map(encodeBackupRecord));
}

/** A tar entry with its data, as the exporter writes it. */
export interface LayerTarEntry {
  readonly header: LayerTarHeader;
  readonly data: Buffer;
}

/**
 * The tar entries for one file from what BackupRead gave (go-winio's WriteTarFileFromBackupStream):
 * its header with the PAX records above, then an entry per alternate data stream.
 */
export function tarEntriesFromBackupStream(name: string, info: WindowsFileInfo, stream: Buffer): LayerTarEntry[] {
  const pax: Record<string, string> = {
    [paxKeys.fileAttributes]: String(info.fileAttributes),
    [paxKeys.creationTime]: unitsToPaxTime(fromFiletime(info.creationTime)),
  };
  const mtime = fromFiletime(info.lastWriteTime);
  let data = Buffer.alloc(0);
  let link: { target: string; mountPoint: boolean } | undefined;
  const alternates: LayerTarEntry[] = [];
  for (const record of decodeBackupStream(stream)) {
    if (record.id === streamIds.security) pax[paxKeys.rawSecurityDescriptor] = record.data.toString("base64");
    else if (record.id === streamIds.eaData)
      for (const attribute of decodeExtendedAttributes(record.data))
        pax[`${paxKeys.extendedAttributePrefix}${attribute.name}`] = attribute.value.toString("base64");
    else if (record.id === streamIds.reparseData) link = decodeReparsePoint(record.data);
    else if (record.id === streamIds.data) data = Buffer.from(record.data);
    else if (record.id === streamIds.alternateData) {
      const stream = /^:(.+):\$DATA$/.exec(record.name)?.[1];
      if (stream === undefined) throw invalidArgument(`${name}: alternate data stream ${JSON.stringify(record.name)} is not :<name>:$DATA`);
      alternates.push({ header: { name: `${name}:${stream}`, type: "file", size: record.data.length, mtime, pax: {} }, data: Buffer.from(record.data) });
    }
    // Link, property, object id, sparse and TxF records carry nothing a layer keeps.
  }
  const directory = (info.fileAttributes & fileAttributeDirectory) !== 0;
  if (link !== undefined && (info.fileAttributes & fileAttributeReparsePoint) !== 0) {
    if (link.mountPoint) pax[paxKeys.mountPoint] = "1";
    return [{ header: { name, type: "symlink", size: 0, mtime, linkname: link.target, pax }, data: Buffer.alloc(0) }, ...alternates];
  }
  const header: LayerTarHeader = directory ? { name, type: "directory", size: 0, mtime, pax } : { name, type: "file", size: data.length, mtime, pax };
  return [{ header, data: directory ? Buffer.alloc(0) : data }, ...alternates];
}
