// The runtime conformance suite through the shim manager (berthd's runtime), with Berth's own shim
// serving io.containerd.runc.v2.
import { berthShimPath } from "@berth/runtime-linux";
import { describeRuntimeConformance } from "@berth/runtime-linux/testsuite";
import { describe } from "vitest";
import { managerFixture } from "./manager-fixture.js";

describe("shim manager with Berth's containerd-shim-berth-v2", () => {
  describeRuntimeConformance("ShimManager + Berth's shim", () => managerFixture("runtime-berth", berthShimPath));
});
