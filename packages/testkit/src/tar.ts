/** A file, directory or symlink of a layer fixture. */
export interface TarEntry {
  readonly path: string;
  readonly type: "file" | "dir" | "symlink";
  readonly mode?: number;
  readonly content?: Uint8Array | string;
  readonly linkname?: string;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** A minimal ustar writer: enough for layer fixtures (files, dirs, symlinks; mtime 0, root owned). */
export function tar(entries: readonly TarEntry[]): Uint8Array {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    let name = entry.type === "dir" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
    let prefix = "";
    if (Buffer.byteLength(name) > 100) {
      const cut = name.lastIndexOf("/", name.length - 2);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
      if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`tar: path too long: ${entry.path}`);
    }
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write(octal(entry.mode ?? (entry.type === "file" ? 0o644 : entry.type === "dir" ? 0o755 : 0o777), 8), 100);
    header.write(octal(0, 8), 108);
    header.write(octal(0, 8), 116);
    header.write(octal(entry.type === "file" ? content.byteLength : 0, 12), 124);
    header.write(octal(0, 12), 136);
    header.write(" ".repeat(8), 148);
    header.write(entry.type === "file" ? "0" : entry.type === "dir" ? "5" : "2", 156);
    header.write(entry.linkname ?? "", 157, 100);
    header.write("ustar\u000000", 257);
    header.write("root", 265, 32);
    header.write("root", 297, 32);
    header.write(prefix, 345, 155);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    blocks.push(header);
    if (entry.type === "file" && content.byteLength > 0) {
      blocks.push(content, Buffer.alloc((512 - (content.byteLength % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
