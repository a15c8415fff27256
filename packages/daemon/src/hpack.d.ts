declare module "hpack.js" {
  import type { Duplex } from "node:stream";
  interface HpackOptions {
    table: { size: number };
  }
  interface Decompressor extends Duplex {
    execute(): void;
  }
  const hpack: {
    compressor: { create(options: HpackOptions): Duplex };
    decompressor: { create(options: HpackOptions): Decompressor };
  };
  export default hpack;
}
