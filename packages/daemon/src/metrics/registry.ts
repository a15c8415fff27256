import { Registry } from "./prom.js";
import { Mutex } from "../mutex.js";

/** Something that reads what it reports just before a scrape (the cgroups of running containers). */
export interface ScrapeHook {
  beforeScrape(): Promise<void>;
}

/**
 * The daemon's metrics: one prom-client registry plus the hooks that fill it when, and only when,
 * it is scraped. Scrapes run one at a time so that a hook's reset-and-fill is never interleaved.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly #hooks: ScrapeHook[] = [];
  readonly #scrapes = new Mutex();

  addScrapeHook(hook: ScrapeHook): void {
    this.#hooks.push(hook);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of everything, read now. */
  scrape(): Promise<string> {
    return this.#scrapes.run(async () => {
      for (const hook of this.#hooks) await hook.beforeScrape();
      return this.registry.metrics();
    });
  }
}
