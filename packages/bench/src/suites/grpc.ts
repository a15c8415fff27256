import type { Client } from "@berth/client";
import { mean, percentile, withTimeout } from "../measure.js";

export interface LatencyStats {
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

export interface LatencyOptions {
  readonly warmup?: number;
  readonly calls?: number;
  readonly timeoutMs?: number;
}

/**
 * Latency of sequential unary calls: `Namespaces.Get` of `namespace` (which should exist), after a
 * warm-up whose calls are not counted.
 */
export async function unaryLatency(client: Client, namespace: string, options: LatencyOptions = {}): Promise<LatencyStats> {
  const { warmup = 200, calls = 3000, timeoutMs = 30_000 } = options;
  const abort = new AbortController();
  const context = { namespace, signal: abort.signal };
  const run = async () => {
    for (let i = 0; i < warmup; i++) await client.namespaces.get(context, namespace);
    const samples: number[] = [];
    for (let i = 0; i < calls; i++) {
      const start = performance.now();
      await client.namespaces.get(context, namespace);
      samples.push((performance.now() - start) * 1000);
    }
    return samples;
  };
  const samples = await withTimeout(run(), timeoutMs, "Namespaces.Get latency", () => abort.abort());
  return { meanUs: mean(samples), p50Us: percentile(samples, 50), p99Us: percentile(samples, 99) };
}
