import { rmSync, writeFileSync } from "node:fs";
import { buildBusyboxImage, ociArchive, parsePromText, removeTestCgroups, runCommand } from "@berth/testkit";
import { median, timeMs, withTimeout } from "../measure.js";

export interface ContainersOptions {
  readonly namespace: string;
  readonly count: number;
  /** Where to write the image archive that `ctr images import` reads. */
  readonly archivePath: string;
  readonly timeoutMs: number;
}

const image = "docker.io/library/busybox:bench";
export const benchContainerId = (index: number) => `scrape-${String(index).padStart(3, "0")}`;

/** Starts `count` sleeping busybox containers through stock ctr (`ctr run -d`), as an operator would. */
export async function runSleepingContainers(ctr: string, address: string, options: ContainersOptions): Promise<void> {
  const run = (...args: string[]) => runCommand(ctr, ["--address", address, "--namespace", options.namespace, ...args], { timeoutMs: options.timeoutMs });
  writeFileSync(options.archivePath, ociArchive(buildBusyboxImage(), image));
  const imported = await run("images", "import", options.archivePath);
  if (imported.code !== 0) throw new Error(`ctr images import: ${imported.stderr.trim()}`);
  await withTimeout(
    (async () => {
      for (let i = 0; i < options.count; i++) {
        const started = await run("run", "-d", image, benchContainerId(i), "sleep", "86400");
        if (started.code !== 0) throw new Error(`ctr run ${benchContainerId(i)}: ${started.stderr.trim()}`);
      }
    })(),
    options.timeoutMs,
    `starting ${options.count} containers`,
  );
}

/** Kills and removes whatever `runSleepingContainers` started; errors are reported, not thrown. */
export async function removeSleepingContainers(ctr: string, address: string, options: Pick<ContainersOptions, "namespace" | "count">): Promise<void> {
  const run = (...args: string[]) => runCommand(ctr, ["--address", address, "--namespace", options.namespace, ...args], { timeoutMs: 30_000 });
  const ids = Array.from({ length: options.count }, (_, i) => benchContainerId(i));
  for (const id of ids) await run("tasks", "kill", "-s", "KILL", id);
  for (const id of ids) {
    for (let attempt = 0; attempt < 50 && (await run("tasks", "rm", id)).code !== 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
    await run("containers", "rm", id);
  }
}

/**
 * The median time of one `GET /v1/metrics` (after one warm-up), each checked to hold the series
 * of `containers` containers.
 */
export async function scrapeMs(url: string, options: { containers: number; samples: number; timeoutMs: number }): Promise<number> {
  let text = "";
  const scrape = async () => {
    const response = await fetch(url);
    text = await response.text();
    if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
  };
  const check = () => {
    const ids = new Set(
      parsePromText(text)
        .filter((s) => s.name === "container_pids_current")
        .map((s) => s.labels.container_id),
    );
    if (ids.size !== options.containers) throw new Error(`the scrape shows ${ids.size} containers, not ${options.containers}`);
  };
  return withTimeout(
    (async () => {
      await scrape();
      check();
      const times: number[] = [];
      for (let i = 0; i < options.samples; i++) {
        times.push(await timeMs(scrape));
        check();
      }
      return median(times);
    })(),
    options.timeoutMs,
    "scraping",
  );
}

/** Starts `count` containers, times the scrape of all of them, and removes them again, whatever happens. */
export async function scrapeWithContainersMs(ctr: string, address: string, url: string, options: ContainersOptions & { samples: number }): Promise<number> {
  try {
    await runSleepingContainers(ctr, address, options);
    return await scrapeMs(url, { containers: options.count, samples: options.samples, timeoutMs: options.timeoutMs });
  } finally {
    await removeSleepingContainers(ctr, address, options);
    rmSync(options.archivePath, { force: true });
    // runc leaves the namespace's own (empty) cgroup behind.
    removeTestCgroups(`/${options.namespace}`);
  }
}
