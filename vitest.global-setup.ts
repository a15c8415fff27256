import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let cache: string | undefined;

/** CLIs run by tests keep their caches (ctr's help) in a directory of the run's own, never in the user's. */
export function setup(): void {
  cache = mkdtempSync(join(tmpdir(), "berth-test-cache-"));
  process.env.XDG_CACHE_HOME = cache;
}

export function teardown(): void {
  if (cache !== undefined) rmSync(cache, { recursive: true, force: true });
}
