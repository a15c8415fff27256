/**
 * Tar headers as Go's archive/tar writes them in PAX format: a plain ustar header when every field
 * fits, preceded by a PAX header carrying what does not (long or non-ASCII names, large ids or
 * sizes) and the xattrs as `SCHILY.xattr.*` records with raw byte values (tar-stream's pack can
 * only write UTF-8 strings there).
 */
import type { EntryType } from "./tar-reader.js";

export interface TarHeader {
  /** Relative name; directories end with `/`. */
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Data length; 0 for all but regular files. */
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: ReadonlyMap<string, Uint8Array>;
}

const BLOCK = 512;
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK);

const flagByType: Record<EntryType, string> = {
  file: "0",
  link: "1",
  symlink: "2",
  char: "3",
  block: "4",
  directory: "5",
  fifo: "6",
};

/** Zero bytes completing a body of `size` bytes to a whole block. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header block(s) of an entry: a PAX extended header first when needed. */
export function encodeHeader(header: TarHeader): Buffer {
  const records: Array<[string, Buffer]> = [];
  const block = Buffer.alloc(BLOCK);

  const split = splitUstarName(header.name);
  if (split === undefined) records.push(["path", Buffer.from(header.name)]);
  else {
    block.write(split.name, 0, 100, "latin1");
    block.write(split.prefix, 345, 155, "latin1");
  }
  const linkname = header.linkname ?? "";
  if (isAscii(linkname) && linkname.length <= 100) block.write(linkname, 157, 100, "latin1");
  else records.push(["linkpath", Buffer.from(linkname)]);

  writeOctal(block, 100, 8, header.mode & 0o7777);
  for (const [key, offset, length, value] of [
    ["uid", 108, 8, header.uid],
    ["gid", 116, 8, header.gid],
    ["size", 124, 12, header.size],
    ["mtime", 136, 12, Math.max(0, Math.floor(header.mtime))],
  ] as const) {
    if (!writeOctal(block, offset, length, value)) records.push([key, Buffer.from(String(value))]);
  }
  block.write(flagByType[header.type], 156, 1, "latin1");
  block.write("ustar\x0000", 257, 8, "latin1");
  writeNumber(block, 329, 8, header.devmajor ?? 0);
  writeNumber(block, 337, 8, header.devminor ?? 0);
  for (const [name, value] of [...(header.xattrs ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    records.push([`SCHILY.xattr.${name}`, Buffer.from(value)]);
  }
  checksum(block);
  if (records.length === 0) return block;

  const pax = Buffer.concat(records.map(([key, value]) => paxRecord(key, value)));
  const paxBlock = Buffer.alloc(BLOCK);
  const base = header.name.replace(/\/+$/, "").split("/").at(-1) ?? "";
  paxBlock.write(`PaxHeaders.0/${base.replace(/[^\x20-\x7e]/g, "_")}`.slice(0, 100), 0, 100, "latin1");
  writeOctal(paxBlock, 100, 8, 0);
  writeOctal(paxBlock, 108, 8, 0);
  writeOctal(paxBlock, 116, 8, 0);
  writeOctal(paxBlock, 124, 12, pax.length);
  writeOctal(paxBlock, 136, 12, 0);
  paxBlock.write("x", 156, 1, "latin1");
  paxBlock.write("ustar\x0000", 257, 8, "latin1");
  checksum(paxBlock);
  return Buffer.concat([paxBlock, pax, padding(pax.length), block]);
}

/** `<len> <key>=<value>\n`, where len counts itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // space, '=', newline
  let length = rest + String(rest).length;
  if (String(length).length !== String(rest).length) length = rest + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from("\n")]);
}

/** ustar's name/prefix split, if the name is ASCII and fits. */
function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return { name, prefix: "" };
  // The prefix takes everything up to a '/', the name the rest (a directory's '/' included).
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== "/" || i === name.length - 1) continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest !== "") return { name: rest, prefix };
    if (prefix.length <= 155) break;
  }
  return undefined;
}

function isAscii(text: string): boolean {
  return /^[\x01-\x7f]*$/.test(text);
}

/** Octal, NUL-terminated; false if it does not fit. */
function writeOctal(block: Buffer, offset: number, length: number, value: number): boolean {
  const text = Math.max(0, Math.floor(value)).toString(8);
  if (text.length > length - 1) {
    block.fill(0x30, offset, offset + length - 1);
    return false;
  }
  block.write(text.padStart(length - 1, "0"), offset, length - 1, "latin1");
  block[offset + length - 1] = 0;
  return true;
}

/** Octal, or GNU base-256 for what octal cannot hold (large device numbers). */
function writeNumber(block: Buffer, offset: number, length: number, value: number): void {
  if (writeOctal(block, offset, length, value)) return;
  let rest = BigInt(Math.floor(value));
  for (let i = length - 1; i > 0; i--) {
    block[offset + i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  block[offset] = 0x80;
}

function checksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
}
