import { createRequire } from "node:module";
import type * as PromClient from "prom-client";

/**
 * The four prom-client classes berthd uses, each from its own module. prom-client's entry also
 * loads what berthd never uses: its default process metrics (and through them all of
 * @opentelemetry/api), Summary, Pushgateway (http, https) and cluster aggregation: ~0.5 MB of
 * berthd's heap when it serves /v1/metrics (2 MB on their own). The classes are the very ones the entry exports.
 */
const load = createRequire(import.meta.url);

export type Registry = PromClient.Registry;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export const Registry: typeof PromClient.Registry = load("prom-client/lib/registry");
export const Counter: typeof PromClient.Counter = load("prom-client/lib/counter");
export const Gauge: typeof PromClient.Gauge = load("prom-client/lib/gauge");
export const Histogram: typeof PromClient.Histogram = load("prom-client/lib/histogram");
