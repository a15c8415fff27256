import { readFileSync } from "node:fs";
import { knownTypes } from "@berth/api/known-types";
import { runhcsStatsV1, runhcsV1 } from "@berth/api/proto";
import { runhcsTypeUrls } from "@berth/runtime-windows";
import { describe, expect, it } from "vitest";

// runhcs-fixtures.txt: `<what> <hex> typeurl <url> <err>`, printed by hcsshim's gogo types.
const fixture = new Map(
  readFileSync(new URL("fixtures/runhcs-fixtures.txt", import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const [what, hex, , typeUrl] = line.split(" ");
      return [what!, { bytes: Buffer.from(hex!, "hex"), typeUrl: typeUrl! }] as const;
    }),
);
const timestamp = { seconds: 1_700_000_000, nanos: 5 };

describe("runhcs wire types", () => {
  it("encodes Options as hcsshim does", () => {
    const options = runhcsV1.Options.fromPartial({
      debug: true,
      debugType: runhcsV1.Options_DebugType.ETW,
      sandboxIsolation: runhcsV1.Options_SandboxIsolation.HYPERVISOR,
      sandboxPlatform: "windows/amd64",
      vmProcessorCount: 2,
      vmMemorySizeInMb: 1024,
      logLevel: "debug",
      ioRetryTimeoutInSec: 5,
    });
    const { bytes, typeUrl } = fixture.get("options")!;
    expect(Buffer.from(runhcsV1.Options.encode(options).finish()).toString("hex")).toBe(bytes.toString("hex"));
    expect(typeUrl).toBe(runhcsTypeUrls.options);
    expect(Buffer.from(knownTypes().pack(typeUrl, options).value)).toEqual(bytes);
  });

  it("decodes and re-encodes the Options bytes identically", () => {
    const { bytes, typeUrl } = fixture.get("options")!;
    const decoded = knownTypes().unpack<runhcsV1.Options>({ typeUrl, value: bytes });
    expect(decoded).toMatchObject({ debug: true, sandboxPlatform: "windows/amd64", vmMemorySizeInMb: 1024, ioRetryTimeoutInSec: 5 });
    expect(Buffer.from(runhcsV1.Options.encode(decoded).finish())).toEqual(bytes);
  });

  it("encodes Statistics (the Any Tasks.Metrics passes through) as hcsshim does", () => {
    const statistics = runhcsStatsV1.Statistics.fromPartial({
      windows: {
        timestamp,
        containerStartTime: timestamp,
        uptimeNs: 42,
        processor: { totalRuntimeNs: 1000, runtimeUserNs: 600, runtimeKernelNs: 400 },
        memory: { memoryUsageCommitBytes: 1, memoryUsageCommitPeakBytes: 2, memoryUsagePrivateWorkingSetBytes: 3 },
        storage: { readCountNormalized: 4, readSizeBytes: 5, writeCountNormalized: 6, writeSizeBytes: 7 },
      },
    });
    const { bytes, typeUrl } = fixture.get("stats")!;
    expect(typeUrl).toBe(runhcsTypeUrls.statistics);
    expect(Buffer.from(knownTypes().pack(typeUrl, statistics).value).toString("hex")).toBe(bytes.toString("hex"));
    const decoded = knownTypes().unpack<runhcsStatsV1.Statistics>({ typeUrl, value: bytes });
    expect(decoded.windows?.processor?.runtimeKernelNs).toBe(400);
    expect(Buffer.from(runhcsStatsV1.Statistics.encode(decoded).finish())).toEqual(bytes);
  });

  it("registers ProcessDetails for Pids", () => {
    const details = runhcsV1.ProcessDetails.fromPartial({ imageName: "cmd.exe", processId: 4242, execId: "e1", createdAt: timestamp });
    const any = knownTypes().pack(runhcsTypeUrls.processDetails, details);
    expect(knownTypes().unpack(any)).toEqual(details);
  });
});
