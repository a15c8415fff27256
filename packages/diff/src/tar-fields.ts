/** Fields of a tar header block: NUL-terminated strings and numbers (octal or GNU base-256). */
import { invalidArgument } from "@berth/api";

export function cString(buf: Buffer, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && end < buf.length && buf[end] !== 0) end++;
  return buf.toString("utf8", offset, end);
}

/** A numeric field: octal (space/NUL padded) or GNU base-256. */
export function parseNumber(block: Buffer, offset: number, length: number, field: string): number {
  const first = block[offset] ?? 0;
  if (first & 0x80) {
    const negative = first === 0xff;
    let value = 0n;
    for (let i = 0; i < length; i++) {
      let byte = block[offset + i] as number;
      if (i === 0) byte &= 0x7f;
      value = (value << 8n) | BigInt(negative ? byte ^ 0xff : byte);
    }
    if (negative) value = -(value + 1n);
    // Negative times are clamped later; negative sizes and ids are nonsense.
    return Number(value);
  }
  const text = block.toString("latin1", offset, offset + length).replace(/^[ \0]+|[ \0]+$/g, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw invalidArgument(`invalid tar header: bad ${field} field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}
