export type { CriConfig, CriRuntimeConfig } from "./config.js";
export { defaultCriConfig } from "./config.js";
export type { CriOptions, CriServer } from "./service.js";
export { startCri } from "./service.js";
