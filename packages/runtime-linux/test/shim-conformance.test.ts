// The runtime conformance suite through the shim manager (berthd's runtime), with Berth's own shim
// serving io.containerd.runc.v2.
import { berthShimPath } from "@berth/runtime-linux";
import { describeRuntimeConformance } from "@berth/runtime-linux/testsuite";
import { shimsOf } from "@berth/testkit";
import { describe } from "vitest";
import { managerFixture } from "./manager-fixture.js";

describe("shim manager with Berth's containerd-shim-berth-v2", () => {
  describeRuntimeConformance("ShimManager + Berth's shim", async () => {
    const fixture = await managerFixture("runtime-berth", berthShimPath);
    const cleanup = fixture.cleanup.bind(fixture);
    // Berth's shim serves from / (not from a bundle): find it by the daemon address it serves.
    fixture.cleanup = async () => {
      for (const pid of shimsOf(fixture.options.address)) process.kill(pid, "SIGKILL");
      await cleanup();
    };
    return fixture;
  });
});
