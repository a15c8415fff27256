export type { ExchangeLogger, ExchangeOptions, ExchangeStats } from "./exchange.js";
export { Exchange } from "./exchange.js";
export { envelopeAdaptor } from "./envelope-fields.js";
