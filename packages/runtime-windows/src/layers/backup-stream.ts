import { invalidArgument } from "@berth/api";

/**
 * The Win32 backup stream (what BackupRead produces and BackupWrite consumes): a sequence of
 * records, each a 20-byte little-endian WIN32_STREAM_ID header (u32 id, u32 attributes, u64 size,
 * u32 nameSize), the name in UTF-16LE, then `size` bytes of data.
 */
export const streamIds = {
  data: 1,
  eaData: 2,
  security: 3,
  alternateData: 4,
  link: 5,
  propertyData: 6,
  objectId: 7,
  reparseData: 8,
  sparseBlock: 9,
  txfsData: 10,
} as const;

export interface BackupRecord {
  readonly id: number;
  readonly attributes: number;
  /** UTF-16 name: `:<stream>:$DATA` for alternate data, "" otherwise. */
  readonly name: string;
  readonly data: Buffer;
}

const headerSize = 20;

export function encodeBackupRecord(record: BackupRecord): Buffer {
  const name = Buffer.from(record.name, "utf16le");
  const header = Buffer.alloc(headerSize);
  header.writeUInt32LE(record.id, 0);
  header.writeUInt32LE(record.attributes, 4);
  header.writeBigUInt64LE(BigInt(record.data.length), 8);
  header.writeUInt32LE(name.length, 16);
  return Buffer.concat([header, name, record.data]);
}

export function decodeBackupStream(stream: Buffer): BackupRecord[] {
  const records: BackupRecord[] = [];
  let at = 0;
  while (at < stream.length) {
    if (stream.length - at < headerSize) throw invalidArgument(`backup stream: truncated record header at offset ${at}`);
    const id = stream.readUInt32LE(at);
    const attributes = stream.readUInt32LE(at + 4);
    const size = Number(stream.readBigUInt64LE(at + 8));
    const nameSize = stream.readUInt32LE(at + 16);
    const nameEnd = at + headerSize + nameSize;
    if (nameSize % 2 !== 0 || nameEnd + size > stream.length) throw invalidArgument(`backup stream: record at offset ${at} runs past the end`);
    records.push({ id, attributes, name: stream.subarray(at + headerSize, nameEnd).toString("utf16le"), data: stream.subarray(nameEnd, nameEnd + size) });
    at = nameEnd + size;
  }
  return records;
}

/** An extended attribute as FILE_FULL_EA_INFORMATION carries it. */
export interface ExtendedAttribute {
  readonly name: string;
  readonly flags: number;
  readonly value: Buffer;
}

/** A FILE_FULL_EA_INFORMATION list: entries 4-byte aligned, each pointing at the next, the last at 0. */
export function encodeExtendedAttributes(attributes: readonly ExtendedAttribute[]): Buffer {
  const parts: Buffer[] = [];
  attributes.forEach((attribute, i) => {
    const name = Buffer.from(attribute.name, "latin1");
    if (name.length > 255 || attribute.value.length > 0xffff) throw invalidArgument(`extended attribute ${JSON.stringify(attribute.name)}: too long`);
    const length = 8 + name.length + 1 + attribute.value.length;
    const padded = i === attributes.length - 1 ? length : (length + 3) & ~3;
    const entry = Buffer.alloc(padded);
    entry.writeUInt32LE(i === attributes.length - 1 ? 0 : padded, 0);
    entry.writeUInt8(attribute.flags, 4);
    entry.writeUInt8(name.length, 5);
    entry.writeUInt16LE(attribute.value.length, 6);
    name.copy(entry, 8);
    attribute.value.copy(entry, 9 + name.length);
    parts.push(entry);
  });
  return Buffer.concat(parts);
}

export function decodeExtendedAttributes(data: Buffer): ExtendedAttribute[] {
  const attributes: ExtendedAttribute[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < 8) throw invalidArgument("extended attributes: truncated entry");
    const next = data.readUInt32LE(at);
    const nameLength = data.readUInt8(at + 5);
    const valueLength = data.readUInt16LE(at + 6);
    const valueAt = at + 9 + nameLength;
    if (valueAt + valueLength > data.length) throw invalidArgument("extended attributes: entry runs past the end");
    attributes.push({
      flags: data.readUInt8(at + 4),
      name: data.subarray(at + 8, at + 8 + nameLength).toString("latin1"),
      value: Buffer.from(data.subarray(valueAt, valueAt + valueLength)),
    });
    if (next === 0) break;
    at += next;
  }
  return attributes;
}

/** A symbolic link or (with `mountPoint`) a junction, as a reparse point names its target. */
export interface ReparsePoint {
  readonly target: string;
  readonly mountPoint: boolean;
}

const reparseTagMountPoint = 0xa0000003;
const reparseTagSymlink = 0xa000000c;
const symlinkFlagRelative = 1;

/**
 * REPARSE_DATA_BUFFER for a link: tag, data length, substitute (NT) name and print name, both
 * NUL-terminated UTF-16; a symlink adds a flags word (relative when the target is not absolute).
 */
export function encodeReparsePoint(point: ReparsePoint): Buffer {
  const { target } = point;
  let ntTarget = target;
  let relative = false;
  if (target.startsWith("\\\\?\\")) ntTarget = `\\??\\${target.slice(4)}`;
  else if (target.startsWith("\\\\")) ntTarget = `\\??\\UNC\\${target.slice(2)}`;
  else if (/^[A-Za-z]:/.test(target)) ntTarget = `\\??\\${target}`;
  else relative = true;
  const substitute = Buffer.from(`${ntTarget}\0`, "utf16le");
  const print = Buffer.from(`${target}\0`, "utf16le");
  const flags = point.mountPoint ? Buffer.alloc(0) : Buffer.alloc(4);
  if (!point.mountPoint) flags.writeUInt32LE(relative ? symlinkFlagRelative : 0, 0);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(point.mountPoint ? reparseTagMountPoint : reparseTagSymlink, 0);
  header.writeUInt16LE(8 + flags.length + substitute.length + print.length, 4);
  header.writeUInt16LE(0, 8);
  header.writeUInt16LE(substitute.length - 2, 10);
  header.writeUInt16LE(substitute.length, 12);
  header.writeUInt16LE(print.length - 2, 14);
  return Buffer.concat([header, flags, substitute, print]);
}

export function decodeReparsePoint(data: Buffer): ReparsePoint {
  if (data.length < 16) throw invalidArgument("reparse point: too short");
  const tag = data.readUInt32LE(0);
  if (tag !== reparseTagMountPoint && tag !== reparseTagSymlink) throw invalidArgument(`reparse point: unsupported tag 0x${tag.toString(16)}`);
  const names = 16 + (tag === reparseTagSymlink ? 4 : 0);
  const printAt = names + data.readUInt16LE(12);
  const target = data.subarray(printAt, printAt + data.readUInt16LE(14)).toString("utf16le");
  return { target, mountPoint: tag === reparseTagMountPoint };
}
