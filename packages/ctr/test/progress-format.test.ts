import type { DescriptorProgress } from "@berth/client";
import { progressBar, renderProgress } from "@berth/cli-kit";
import { goDuration } from "@berth/ctr";
import { describe, expect, it } from "vitest";

const descriptor = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${"a".repeat(64)}`, size: 3 * 1024 * 1024 };
const entry = (status: DescriptorProgress["status"], offset: number, moved: number): DescriptorProgress => ({
  ref: `layer-${descriptor.digest}`,
  descriptor,
  status,
  offset,
  total: descriptor.size,
  moved,
});

describe("ctr's progress display", () => {
  it("draws containerd's 40-wide bar, green pluses only on a terminal", () => {
    expect(progressBar(1, false)).toBe(`|${"+".repeat(38)}|`);
    expect(progressBar(0, false)).toBe(`|${"-".repeat(38)}|`);
    expect(progressBar(0.5, false)).toBe(`|${"+".repeat(19)}${"-".repeat(19)}|`);
    expect(progressBar(1, true)).toBe(`|\x1b[32m${"+".repeat(38)}\x1b[0m|`);
  });

  it("lays out a frame as content.Display: bytes cut to Go's %8.8s and %7.6v, elapsed as %-4.1fs", () => {
    const frame = renderProgress(
      { name: "example.com/a:1", resolved: true, entries: [entry("downloading", 1024 * 1024, 1024 * 1024)], moved: 72.7 * 1024 * 1024 },
      900,
    );
    expect(frame.split("\n")).toEqual([
      // One tabwriter block, as in ctr: the elapsed line's cells widen the columns above them.
      `example.com/a:1:                                                               resolved       |${"+".repeat(38)}| `,
      `layer-${descriptor.digest}: downloading    |${"+".repeat(12)}${"-".repeat(26)}|  1.0 MiB/3.0 MiB `,
      `elapsed: 0.9 s                                                                 total:  72.7 M (80.8 MiB/s)${" ".repeat(29)}`,
      "",
    ]);
    const done = renderProgress({ name: "example.com/a:1", resolved: true, entries: [entry("exists", 0, 0)], moved: 0 }, 12_345, {
      header: false,
      words: { exists: "done" },
    });
    expect(done).toContain(`layer-${descriptor.digest}: done           |${"+".repeat(38)}| `);
    expect(done).toContain("elapsed: 12.3s                                                                 total:   0.0 B (0.0 B/s) ");
  });

  it("writes durations as Go's time.Duration.String", () => {
    expect(goDuration(0n)).toBe("0s");
    expect(goDuration(999n)).toBe("999ns");
    expect(goDuration(1_500n)).toBe("1.5µs");
    expect(goDuration(86_749_658n)).toBe("86.749658ms");
    expect(goDuration(2_000_000_000n)).toBe("2s");
    expect(goDuration(1_250_000_000n)).toBe("1.25s");
    expect(goDuration(3_723_500_000_000n)).toBe("1h2m3.5s");
  });
});
