export type { AppliedLayer, ApplyOptions } from "./apply.js";
export { applyLayer } from "./apply.js";
export { computeLayer } from "./compute.js";
export { rootPath } from "./root-path.js";
export type { OverlayTarget } from "./overlay-upper.js";
export { overlayTarget } from "./overlay-upper.js";
export type { ByteStream, Compression } from "./compression.js";
export { compressStream, decompressStream, detectCompression } from "./compression.js";
