/**
 * GNU sparse files in tar, read as Go's archive/tar does (containerd's reader): the old GNU format
 * (type 'S', map in the header and in extension blocks after it, real size in the header) and the
 * PAX formats 0.0 (repeated `GNU.sparse.offset`/`numbytes`), 0.1 (`GNU.sparse.map`) and 1.0
 * (`GNU.sparse.major=1`/`minor=0`, map in decimal lines at the start of the data). The archive
 * holds only the data regions, back to back; everything between them is a hole.
 */
import { invalidArgument } from "@berth/api";
import { parseNumber } from "./tar-fields.js";

export interface SparseRegion {
  offset: number;
  length: number;
}

export interface SparseLayout {
  /** The file's apparent size (GNU's "real size"). */
  size: number;
  /** Where the data goes, in order and not overlapping; the archive carries their bytes back to back. */
  regions: SparseRegion[];
}

/** A PAX header's sparse format, and what it says of the file; undefined when not sparse (or an unknown version, as Go). */
export interface PaxSparse {
  format: "0.x" | "1.0";
  name: string | undefined;
  size: number | undefined;
}

const BLOCK = 512;
const GNU_MAGIC = "ustar  \0";
const MAP = "GNU.sparse.map";

/** The old GNU sparse map: four entries in the header, 21 in each extension block it announces. */
export async function readOldGnuSparse(header: Buffer, nextBlock: () => Promise<Buffer>, what: string): Promise<SparseLayout> {
  if (header.toString("latin1", 257, 265) !== GNU_MAGIC) throw invalidArgument(`${what}: GNU sparse entry without the GNU magic`);
  const size = parseNumber(header, 483, 12, "realsize");
  const regions: SparseRegion[] = [];
  let block = header;
  let first = 386;
  let entries = 4;
  let extendedFlag = 482;
  for (;;) {
    for (let i = 0; i < entries; i++) {
      const at = first + i * 24;
      // GNU and BSD tar stop at the first entry whose offset starts with NUL.
      if (block[at] === 0) break;
      regions.push({ offset: parseNumber(block, at, 12, "sparse offset"), length: parseNumber(block, at + 12, 12, "sparse length") });
    }
    if ((block[extendedFlag] ?? 0) === 0) return { size, regions };
    block = await nextBlock();
    first = 0;
    entries = 21;
    extendedFlag = 504;
  }
}

/** Go's parsePAX: 0.0's repeated offset/numbytes records become one `GNU.sparse.map`. */
export function collectSparseRecord(key: string, value: Buffer, pairs: string[]): boolean {
  if (key !== "GNU.sparse.offset" && key !== "GNU.sparse.numbytes") return false;
  const text = value.toString("latin1");
  const expected = pairs.length % 2 === 0 ? "GNU.sparse.offset" : "GNU.sparse.numbytes";
  if (key !== expected || text.includes(",")) throw invalidArgument("invalid tar: GNU.sparse.offset and GNU.sparse.numbytes out of order");
  pairs.push(text);
  return true;
}

export function finishSparseRecords(records: Map<string, Buffer>, pairs: string[]): void {
  if (pairs.length > 0) records.set(MAP, Buffer.from(pairs.join(",")));
}

export function paxSparseOf(pax: Map<string, Buffer>, what: string): PaxSparse | undefined {
  const text = (key: string): string => pax.get(key)?.toString("utf8") ?? "";
  const major = text("GNU.sparse.major");
  const minor = text("GNU.sparse.minor");
  let format: PaxSparse["format"];
  if (major === "0" && (minor === "0" || minor === "1")) format = "0.x";
  else if (major === "1" && minor === "0") format = "1.0";
  else if (major !== "" || minor !== "") return undefined;
  else if (text(MAP) !== "") format = "0.x";
  else return undefined;
  const size = text("GNU.sparse.size") || text("GNU.sparse.realsize");
  return { format, name: text("GNU.sparse.name") || undefined, size: size === "" ? undefined : decimal(size, what) };
}

/** Formats 0.0 and 0.1: `GNU.sparse.numblocks` pairs in `GNU.sparse.map`. */
export function mapOfPax(pax: Map<string, Buffer>, what: string): SparseRegion[] {
  const count = decimal(pax.get("GNU.sparse.numblocks")?.toString("latin1") ?? "", what);
  const text = pax.get(MAP)?.toString("latin1") ?? "";
  const numbers = text === "" ? [] : text.split(",");
  if (numbers.length !== 2 * count) throw invalidArgument(`${what}: GNU.sparse.map does not hold GNU.sparse.numblocks entries`);
  return pairs(numbers.map((n) => decimal(n, what)));
}

/** Format 1.0: the count, then offset and length, each on its own line, in whole blocks before the data. */
export async function readMap1x0(nextBlock: () => Promise<Buffer>, what: string): Promise<SparseRegion[]> {
  let text = "";
  let at = 0;
  const token = async (): Promise<number> => {
    let newline: number;
    while ((newline = text.indexOf("\n", at)) < 0) {
      text += (await nextBlock()).toString("latin1");
    }
    const value = text.slice(at, newline);
    at = newline + 1;
    return decimal(value, what);
  };
  const count = await token();
  const numbers: number[] = [];
  for (let i = 0; i < 2 * count; i++) numbers.push(await token());
  return pairs(numbers);
}

/** Go's validateSparseEntries, and the archive's data must be exactly the regions' bytes. */
export function checkLayout(layout: SparseLayout, dataSize: number, what: string): void {
  let end = 0;
  let data = 0;
  for (const { offset, length } of layout.regions) {
    if (offset < end || length < 0 || offset + length > layout.size || !Number.isSafeInteger(offset + length)) {
      throw invalidArgument(`${what}: invalid sparse map`);
    }
    end = offset + length;
    data += length;
  }
  if (layout.size < 0 || !Number.isSafeInteger(layout.size)) throw invalidArgument(`${what}: invalid sparse file size`);
  if (data !== dataSize) throw invalidArgument(`${what}: sparse map describes ${data} bytes of data, the archive holds ${dataSize}`);
}

function pairs(numbers: number[]): SparseRegion[] {
  const regions: SparseRegion[] = [];
  for (let i = 0; i + 1 < numbers.length; i += 2) regions.push({ offset: numbers[i] as number, length: numbers[i + 1] as number });
  return regions;
}

function decimal(text: string, what: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) throw invalidArgument(`${what}: bad number ${JSON.stringify(text)} in a sparse header`);
  return value;
}
