/**
 * A streaming tar reader with Go archive/tar's semantics (what containerd uses): ustar, GNU and PAX
 * headers, PAX records kept as raw bytes (xattr values such as security.capability are binary),
 * GNU sparse files in all of Go's formats (sparse.ts), header-only types carry no data whatever
 * their size field says, and reading stops at the end-of-archive marker so the caller can drain
 * (and hash) whatever follows.
 *
 * tar-stream is not used here: it decodes PAX values as UTF-8 (corrupting binary xattrs) and fails
 * on non-zero bytes after the end-of-archive blocks.
 */
import { invalidArgument } from "@berth/api";
import type { ByteReader } from "./byte-reader.js";
import { type SparseLayout, checkLayout, collectSparseRecord, finishSparseRecords, mapOfPax, paxSparseOf, readMap1x0, readOldGnuSparse } from "./sparse.js";
import { cString, parseNumber } from "./tar-fields.js";

export type EntryType = "file" | "directory" | "symlink" | "link" | "char" | "block" | "fifo";

export interface TarEntry {
  /** As written in the archive (PAX path and GNU long names applied), not cleaned. */
  name: string;
  type: EntryType;
  /** Permission bits with setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Length of `body`: 0 for all but regular files. */
  size: number;
  /** A sparse file: where `body`'s bytes go and the file's apparent size; undefined for a plain one. */
  sparse: SparseLayout | undefined;
  /** Seconds since the epoch; fractional when PAX says so. */
  mtime: number;
  atime: number | undefined;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** From PAX `SCHILY.xattr.<name>` records, values as raw bytes. */
  xattrs: Map<string, Buffer>;
  /** The file's data; whatever the caller leaves unread is skipped. */
  body: AsyncIterable<Buffer>;
}

const BLOCK = 512;
// Go's limit for PAX and GNU long-name payloads.
const MAX_SPECIAL = 1 << 20;
const XATTR_PREFIX = "SCHILY.xattr.";

const typeByFlag: Record<string, EntryType | undefined> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  // GNU's old sparse format: a regular file whose map is in the header.
  S: "file",
  "1": "link",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "directory",
  "6": "fifo",
};

/** Entries of the tar read from `reader`, until the end-of-archive marker or the end of the data. */
export async function* readTar(reader: ByteReader): AsyncGenerator<TarEntry> {
  let pax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await reader.read(BLOCK);
    // Like Go: a clean end at a block boundary ends the archive, a partial block is an error.
    if (block.length === 0) return;
    if (block.length < BLOCK) throw invalidArgument("invalid tar: unexpected end of data in a header");
    if (isZero(block)) {
      const second = await reader.read(BLOCK);
      if (second.length === 0 || (second.length === BLOCK && isZero(second))) return;
      throw invalidArgument("invalid tar: a single zero block before more headers");
    }
    verifyChecksum(block);
    const flag = String.fromCharCode(block[156] ?? 0);
    const size = parseNumber(block, 124, 12, "size");

    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      if (size > MAX_SPECIAL) throw invalidArgument(`invalid tar: extended header of ${size} bytes`);
      const data = await reader.read(size);
      if (data.length < size) throw invalidArgument("invalid tar: unexpected end of data in an extended header");
      await reader.skip(padding(size));
      if (flag === "x") pax = parsePax(data);
      // Global PAX headers are ignored, as by containerd.
      else if (flag === "L") longName = cString(data, 0, data.length);
      else if (flag === "K") longLink = cString(data, 0, data.length);
      continue;
    }

    let name = headerName(block);
    let type = typeByFlag[flag];
    if (flag === "\0" && name.endsWith("/")) type = "directory";
    if (type === undefined) throw invalidArgument(`tar entry ${JSON.stringify(name)}: unsupported type flag ${JSON.stringify(flag)}`);
    const entry: Omit<TarEntry, "body"> = {
      name,
      type,
      mode: parseNumber(block, 100, 8, "mode") & 0o7777,
      uid: parseNumber(block, 108, 8, "uid"),
      gid: parseNumber(block, 116, 8, "gid"),
      size,
      mtime: parseNumber(block, 136, 12, "mtime"),
      atime: undefined,
      linkname: cString(block, 157, 100),
      devmajor: parseNumber(block, 329, 8, "devmajor"),
      devminor: parseNumber(block, 337, 8, "devminor"),
      xattrs: new Map(),
      sparse: undefined,
    };
    if (pax !== undefined) applyPax(entry, pax);
    if (longName !== undefined) entry.name = longName;
    if (longLink !== undefined) entry.linkname = longLink;
    // Header-only types carry no data, whatever the size field says (Go's reader).
    let dataSize = entry.type === "file" ? entry.size : 0;
    if (flag === "S" || pax !== undefined) dataSize = await readSparse(reader, entry, block, flag === "S" ? undefined : pax, dataSize);
    pax = longName = longLink = undefined;
    name = entry.name;
    entry.size = dataSize;

    let read = 0;
    const body = (async function* () {
      for await (const piece of reader.stream(dataSize - read)) {
        read += piece.length;
        yield piece;
      }
      if (read < dataSize) throw invalidArgument(`tar entry ${JSON.stringify(name)}: unexpected end of data`);
    })();
    yield { ...entry, body };
    const rest = dataSize - read;
    if ((await reader.skip(rest)) < rest) throw invalidArgument(`tar entry ${JSON.stringify(name)}: unexpected end of data`);
    await reader.skip(padding(dataSize));
  }
}

/**
 * Go's handleSparseFile: the old GNU map (type 'S': `pax` undefined, extension blocks read off the
 * stream) or a PAX one (1.0's at the start of the data), set on `entry` with the name and real
 * size they carry; returns how many bytes of data are left to read.
 */
async function readSparse(
  reader: ByteReader,
  entry: Omit<TarEntry, "body">,
  header: Buffer,
  pax: Map<string, Buffer> | undefined,
  dataSize: number,
): Promise<number> {
  const what = `tar entry ${JSON.stringify(entry.name)}`;
  const fromPax = pax === undefined ? undefined : paxSparseOf(pax, what);
  if (pax !== undefined && fromPax === undefined) return dataSize;
  if (entry.type !== "file") throw invalidArgument(`${what}: a sparse map on a ${entry.type}`);
  let left = dataSize;
  const nextBlock = async (fromData: boolean): Promise<Buffer> => {
    if (fromData && (left -= BLOCK) < 0) throw invalidArgument(`${what}: unexpected end of data in a sparse map`);
    const next = await reader.read(BLOCK);
    if (next.length < BLOCK) throw invalidArgument(`${what}: unexpected end of data in a sparse map`);
    return next;
  };
  let layout: SparseLayout;
  if (fromPax === undefined) layout = await readOldGnuSparse(header, () => nextBlock(false), what);
  else if (fromPax.format === "0.x") layout = { size: fromPax.size ?? dataSize, regions: mapOfPax(pax as Map<string, Buffer>, what) };
  else {
    const regions = await readMap1x0(() => nextBlock(true), what);
    layout = { size: fromPax.size ?? left, regions };
  }
  if (fromPax?.name !== undefined) entry.name = fromPax.name;
  checkLayout(layout, left, what);
  entry.sparse = layout;
  return left;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function isZero(block: Buffer): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

function verifyChecksum(block: Buffer): void {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  const stored = parseNumber(block, 148, 8, "checksum");
  if (stored !== unsigned && stored !== signed) throw invalidArgument("invalid tar header: checksum mismatch");
}

function headerName(block: Buffer): string {
  const name = cString(block, 0, 100);
  const magic = block.toString("latin1", 257, 265);
  if (magic === "ustar\x0000") {
    // star puts atime/ctime after a shorter prefix and says so in its trailer.
    const star = block.toString("latin1", 508, 512) === "tar\0";
    const prefix = cString(block, 345, star ? 131 : 155);
    return prefix === "" ? name : `${prefix}/${name}`;
  }
  return name;
}

/** PAX records: `<len> <key>=<value>\n`, values kept as bytes; GNU sparse 0.0's pairs gathered into one map. */
function parsePax(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  const sparsePairs: string[] = [];
  let offset = 0;
  while (offset < data.length) {
    // Some writers pad the payload with NULs.
    if (data[offset] === 0) break;
    const space = data.indexOf(0x20, offset);
    const length = space < 0 ? NaN : Number(data.toString("latin1", offset, space));
    if (!Number.isSafeInteger(length) || length <= space - offset || offset + length > data.length || data[offset + length - 1] !== 0x0a) {
      throw invalidArgument("invalid tar: malformed PAX record");
    }
    const record = data.subarray(space + 1, offset + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw invalidArgument("invalid tar: malformed PAX record");
    const key = record.toString("utf8", 0, equals);
    const value = Buffer.from(record.subarray(equals + 1));
    if (!collectSparseRecord(key, value, sparsePairs)) records.set(key, value);
    offset += length;
  }
  finishSparseRecords(records, sparsePairs);
  return records;
}

function applyPax(entry: Omit<TarEntry, "body">, pax: Map<string, Buffer>): void {
  for (const [key, value] of pax) {
    const text = (): string => value.toString("utf8");
    const number = (): number => {
      const n = Number(text());
      if (!Number.isFinite(n)) throw invalidArgument(`invalid tar: PAX ${key}=${JSON.stringify(text())}`);
      return n;
    };
    if (key.startsWith(XATTR_PREFIX)) entry.xattrs.set(key.slice(XATTR_PREFIX.length), value);
    else if (key === "path") entry.name = text();
    else if (key === "linkpath") entry.linkname = text();
    else if (key === "size") entry.size = number();
    else if (key === "uid") entry.uid = number();
    else if (key === "gid") entry.gid = number();
    else if (key === "mtime") entry.mtime = number();
    else if (key === "atime") entry.atime = number();
  }
}
