import { readFileSync } from "node:fs";
import {
  type LayerTarHeader,
  backupStreamFromTarEntry,
  decodeExtendedAttributes,
  decodeReparsePoint,
  encodeExtendedAttributes,
  encodeReparsePoint,
  fileInfoFromHeader,
  paxTimeUnits,
  tarEntriesFromBackupStream,
} from "@berth/runtime-windows";
import { describe, expect, it } from "vitest";

const wingold = readFileSync(new URL("fixtures/wingold.out", import.meta.url), "utf8").split("\n");
const line = (tag: string) => wingold.find((l) => l.startsWith(`${tag} `))!.split(" ");

// The entry of reference/windows/generators/wingold.go: Files/hello.txt with its attribute,
// security descriptor and creation time, then its alternate data stream.
const rawsd = "AQAEgBQAAAAkAAAAAAAAADAAAAABAgAAAAAABSAAAAAgAgAAAQIAAAAAAAUgAAAAIAIAAAIAHAABAAAAAAMUAP8BHwABAQAAAAAABRIAAAA=";
const hello: LayerTarHeader = {
  name: "Files/hello.txt",
  type: "file",
  size: 5,
  mtime: paxTimeUnits("1700000000.1234567"),
  pax: { "MSWINDOWS.fileattr": "32", "MSWINDOWS.rawsd": rawsd, "LIBARCHIVE.creationtime": "1700000000.1234567" },
};
/** A FILETIME as Go prints windows.Filetime: `{low high}`. */
const filetime = (value: bigint) => `{${value & 0xffffffffn} ${value >> 32n}}`;

describe("layer tar → backup stream (go-winio backuptar, built for Windows)", () => {
  it("reads the file information from the PAX records", () => {
    const [, name, size, attributes, creation, write] = line("fileinfo")
      .join(" ")
      .match(/^fileinfo (\S+) (\d+) (\d+) (\{\d+ \d+\}) (\{\d+ \d+\})/)!;
    const read = fileInfoFromHeader(hello);
    expect([read.name, String(read.size), String(read.info.fileAttributes), filetime(read.info.creationTime), filetime(read.info.lastWriteTime)]).toEqual([
      name,
      size,
      attributes,
      creation,
      write,
    ]);
  });

  it("writes the backup stream byte for byte: security, data, then the alternate stream", () => {
    const [, hex, lastEntry, atEnd] = line("backupstream");
    expect([lastEntry, atEnd]).toEqual(["true", "true"]);
    expect(backupStreamFromTarEntry(hello, Buffer.from("hello"), [{ stream: "ads", data: Buffer.from("ads") }]).toString("hex")).toBe(hex);
  });

  it("reads the stream back into the same entries", () => {
    const stream = Buffer.from(line("backupstream")[1]!, "hex");
    const { info } = fileInfoFromHeader(hello);
    const entries = tarEntriesFromBackupStream("Files/hello.txt", info, stream);
    expect(entries.map((entry) => [entry.header.name, entry.header.type, entry.data.toString()])).toEqual([
      ["Files/hello.txt", "file", "hello"],
      ["Files/hello.txt:ads", "file", "ads"],
    ]);
    expect(entries[0]!.header.pax).toEqual(hello.pax);
    expect(entries[0]!.header.mtime).toBe(hello.mtime);
    expect(backupStreamFromTarEntry(entries[0]!.header, entries[0]!.data, [{ stream: "ads", data: entries[1]!.data }])).toEqual(stream);
  });

  it("carries extended attributes, links and junctions through the stream and back", () => {
    const attributes = [
      { name: "user.one", flags: 0, value: Buffer.from([1, 2, 3]) },
      { name: "two", flags: 0, value: Buffer.from("x") },
    ];
    const encoded = encodeExtendedAttributes(attributes);
    expect(encoded.readUInt32LE(0) % 4).toBe(0);
    expect(decodeExtendedAttributes(encoded)).toEqual(attributes);
    for (const point of [
      { target: "C:\\Windows", mountPoint: true },
      { target: "..\\relative\\file", mountPoint: false },
      { target: "\\\\server\\share", mountPoint: false },
    ]) {
      expect(decodeReparsePoint(encodeReparsePoint(point))).toEqual(point);
    }
    const link: LayerTarHeader = {
      name: "Files/j",
      type: "symlink",
      size: 0,
      mtime: 0n,
      linkname: "C:\\target",
      pax: { "MSWINDOWS.fileattr": String(0x10 | 0x400), "MSWINDOWS.mountpoint": "1", "MSWINDOWS.xattr.user.one": "AQID" },
    };
    const [entry] = tarEntriesFromBackupStream("Files/j", fileInfoFromHeader(link).info, backupStreamFromTarEntry(link, Buffer.alloc(0)));
    expect(entry!.header).toMatchObject({ type: "symlink", linkname: "C:\\target", pax: { "MSWINDOWS.mountpoint": "1", "MSWINDOWS.xattr.user.one": "AQID" } });
  });

  it("refuses a stream that runs past its end", () => {
    const stream = Buffer.from(line("backupstream")[1]!, "hex");
    expect(() => tarEntriesFromBackupStream("Files/x", fileInfoFromHeader(hello).info, stream.subarray(0, stream.length - 1))).toThrow(/runs past the end/);
  });
});
