import { existsSync } from "node:fs";
import { describeRuntimeConformance } from "@berth/runtime-linux/testsuite";
import { describe } from "vitest";
import { managerFixture, stockShim } from "./manager-fixture.js";

describe.skipIf(!existsSync(stockShim))("shim manager with Debian's containerd-shim-runc-v2", () => {
  describeRuntimeConformance("ShimManager + stock runc shim", () => managerFixture("runtime-stock", stockShim));
});
