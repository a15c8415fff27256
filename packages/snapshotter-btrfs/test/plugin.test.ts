import { rmSync } from "node:fs";
import { join } from "node:path";
import { SkipPlugin, closePlugins, loadPlugins } from "@berth/plugin";
import { btrfsPlugin, btrfsSupported } from "@berth/snapshotter-btrfs";
import { testDirectory } from "@berth/testkit";
import { afterAll, describe, expect, it } from "vitest";

const base = testDirectory("btrfs-plugin");

describe("btrfsPlugin, loaded without a daemon", () => {
  afterAll(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it.skipIf(btrfsSupported(base).supported)("skips itself, with containerd's reason, where its root is not btrfs", async () => {
    const outcomes = await loadPlugins([btrfsPlugin], { root: base, state: join(base, "state"), host: () => ({}) });
    await closePlugins(outcomes);
    const root = join(base, "io.containerd.snapshotter.v1.btrfs");
    expect(outcomes[0]!.error).toBeInstanceOf(SkipPlugin);
    const { message } = outcomes[0]!.error!;
    expect(message.startsWith(`path ${root} (`), message).toBe(true);
    expect(message.endsWith(") must be a btrfs filesystem to be used with the btrfs snapshotter: skip plugin"), message).toBe(true);
    expect(outcomes[0]!.exports).toEqual({});
  });
});
