import {
  type Index,
  type Platform,
  PlatformSyntaxError,
  allPlatforms,
  anyPlatform,
  chooseManifest,
  defaultSnapshotterFor,
  filterManifests,
  hostPlatform,
  normalizePlatform,
  onlyPlatform,
  onlyPlatformStrict,
  orderedPlatforms,
  parsePlatform,
  platformMatches,
  platformText,
} from "@berth/oci";
import { describe, expect, it } from "vitest";

const host = hostPlatform();

describe("parsing and formatting platforms (containerd's platforms.Parse and Format)", () => {
  it.each([
    ["linux/amd64", { os: "linux", architecture: "amd64" }, "linux/amd64"],
    ["linux/x86_64", { os: "linux", architecture: "amd64" }, "linux/amd64"],
    ["Linux/X86-64", { os: "linux", architecture: "amd64" }, "linux/amd64"],
    ["linux/i386", { os: "linux", architecture: "386" }, "linux/386"],
    ["linux/arm", { os: "linux", architecture: "arm" }, "linux/arm"],
    ["linux/arm/7", { os: "linux", architecture: "arm", variant: "v7" }, "linux/arm/v7"],
    ["linux/arm/v6", { os: "linux", architecture: "arm", variant: "v6" }, "linux/arm/v6"],
    ["linux/armel", { os: "linux", architecture: "arm", variant: "v6" }, "linux/arm/v6"],
    ["linux/aarch64", { os: "linux", architecture: "arm64" }, "linux/arm64"],
    ["linux/arm64/v8", { os: "linux", architecture: "arm64", variant: "v8" }, "linux/arm64/v8"],
    ["linux/aarch64/8", { os: "linux", architecture: "arm64", variant: "v8" }, "linux/arm64/v8"],
    ["linux/amd64/v1", { os: "linux", architecture: "amd64" }, "linux/amd64"],
    ["linux/amd64/v3", { os: "linux", architecture: "amd64", variant: "v3" }, "linux/amd64/v3"],
    ["windows/amd64", { os: "windows", architecture: "amd64" }, "windows/amd64"],
    ["macOS/arm64", { os: "darwin", architecture: "arm64" }, "darwin/arm64"],
    ["linux/ppc64le", { os: "linux", architecture: "ppc64le" }, "linux/ppc64le"],
    ["arm64", { os: host.os, architecture: "arm64" }, `${host.os}/arm64`],
    ["x86_64", { os: host.os, architecture: "amd64" }, `${host.os}/amd64`],
  ] as const)("%s", (specifier, platform, text) => {
    expect(parsePlatform(specifier)).toEqual(platform);
    expect(platformText(parsePlatform(specifier))).toBe(text);
  });

  it("takes this host's architecture for a lone OS", () => {
    expect(parsePlatform("linux")).toEqual({ ...host, os: "linux" });
    expect(parsePlatform("windows").architecture).toBe(host.architecture);
  });

  it.each([
    ["", "InvalidArgument"],
    ["linux/", "InvalidArgument"],
    ["/amd64", "InvalidArgument"],
    ["linux/amd64/v8/extra", "InvalidArgument"],
    ["linux/am d64", "InvalidArgument"],
    ["notanos", "InvalidArgument"],
    ["*", "NotImplemented"],
    ["linux/*", "NotImplemented"],
  ] as const)("refuses %j with %s", (specifier, kind) => {
    expect(() => parsePlatform(specifier)).toThrow(PlatformSyntaxError);
    expect(() => parsePlatform(specifier)).toThrow(expect.objectContaining({ kind, specifier }));
  });

  it("gives this host in containerd's names", () => {
    expect(host.os).toBe(process.platform === "win32" ? "windows" : process.platform);
    if (process.arch === "x64") expect(host).toEqual({ os: host.os, architecture: "amd64" });
    expect(normalizePlatform(host).architecture).toBe(host.architecture);
  });
});

describe("normalizing platforms (containerd's platforms.Normalize)", () => {
  it.each([
    [
      { os: "Linux", architecture: "x86_64" },
      { os: "linux", architecture: "amd64" },
    ],
    [
      { os: "linux", architecture: "amd64", variant: "v1" },
      { os: "linux", architecture: "amd64" },
    ],
    [
      { os: "linux", architecture: "aarch64", variant: "v8" },
      { os: "linux", architecture: "arm64" },
    ],
    [
      { os: "linux", architecture: "arm64", variant: "8" },
      { os: "linux", architecture: "arm64" },
    ],
    [
      { os: "linux", architecture: "arm" },
      { os: "linux", architecture: "arm", variant: "v7" },
    ],
    [
      { os: "linux", architecture: "arm", variant: "6" },
      { os: "linux", architecture: "arm", variant: "v6" },
    ],
    [
      { os: "linux", architecture: "armhf" },
      { os: "linux", architecture: "arm", variant: "v7" },
    ],
    [
      { os: "linux", architecture: "armel" },
      { os: "linux", architecture: "arm", variant: "v6" },
    ],
    [
      { os: "linux", architecture: "i386" },
      { os: "linux", architecture: "386" },
    ],
    [
      { os: "macos", architecture: "arm64" },
      { os: "darwin", architecture: "arm64" },
    ],
  ] as const)("%j is %j", (platform, normal) => {
    expect(normalizePlatform(platform)).toEqual(normal);
  });
});

/** containerd 1.6's platforms.Only table (compare_test.go): what each platform runs and what it does not. */
const onlyTable: readonly (readonly [string, readonly string[], readonly string[]])[] = [
  ["linux/amd64", ["linux/amd64", "linux/386"], ["linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"]],
  ["linux/386", ["linux/386"], ["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"]],
  ["windows/amd64", ["windows/amd64"], ["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/arm"]],
  [
    "linux/arm/v8",
    ["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8"],
    ["linux/amd64", "linux/arm/v4", "linux/arm64", "windows/amd64", "windows/arm"],
  ],
  [
    "linux/arm/v7",
    ["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7"],
    ["linux/amd64", "linux/arm/v4", "linux/arm/v8", "linux/arm64", "windows/amd64", "windows/arm"],
  ],
  [
    "linux/arm/v6",
    ["linux/arm/v5", "linux/arm/v6"],
    ["linux/amd64", "linux/arm", "linux/arm/v4", "linux/arm/v7", "linux/arm/v8", "linux/arm64", "windows/amd64", "windows/arm"],
  ],
  [
    "linux/arm/v5",
    ["linux/arm/v5"],
    ["linux/amd64", "linux/arm", "linux/arm/v4", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8", "linux/arm64", "windows/amd64", "windows/arm"],
  ],
  [
    "linux/arm/v4",
    ["linux/arm/v4"],
    ["linux/amd64", "linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8", "linux/arm64", "windows/amd64", "windows/arm"],
  ],
  [
    "linux/arm64",
    ["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8", "linux/arm64", "linux/arm64/v8"],
    ["linux/amd64", "linux/arm/v4", "linux/arm/v9", "linux/arm64/v9", "windows/amd64", "windows/arm"],
  ],
];

describe("matching platforms (containerd's platforms package)", () => {
  it.each(onlyTable)("only(%s) takes what it runs", (platform, runs, doesNotRun) => {
    const matcher = onlyPlatform(parsePlatform(platform));
    for (const other of runs) expect(matcher.match(parsePlatform(other)), other).toBe(true);
    for (const other of doesNotRun) expect(matcher.match(parsePlatform(other)), other).toBe(false);
  });

  it.each(onlyTable)("onlyStrict(%s) takes the platform alone", (platform, runs, doesNotRun) => {
    const matcher = onlyPlatformStrict(parsePlatform(platform));
    const wanted = normalizePlatform(parsePlatform(platform));
    for (const other of [...runs, ...doesNotRun]) {
      const same = platformText(normalizePlatform(parsePlatform(other))) === platformText(wanted);
      expect(matcher.match(parsePlatform(other)), other).toBe(same);
    }
  });

  it("prefers the platform itself, then the older variants in order", () => {
    const matcher = onlyPlatform(parsePlatform("linux/arm64"));
    const offered = ["linux/arm/v5", "linux/amd64", "linux/arm/v7", "linux/arm64", "linux/arm/v6"].map(parsePlatform);
    const sorted = offered.filter((p) => matcher.match(p)).sort((a, b) => (matcher.less(a, b) ? -1 : matcher.less(b, a) ? 1 : 0));
    expect(sorted.map(platformText)).toEqual(["linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]);
    const amd64 = onlyPlatform(parsePlatform("linux/amd64"));
    expect(amd64.less(parsePlatform("linux/amd64"), parsePlatform("linux/386"))).toBe(true);
    expect(amd64.less(parsePlatform("linux/386"), parsePlatform("linux/amd64"))).toBe(false);
  });

  it("orders, any-matches and all-matches as containerd's Ordered, Any and All", () => {
    const [a, b, c] = ["linux/arm64", "linux/amd64", "windows/amd64"].map(parsePlatform) as [Platform, Platform, Platform];
    const ordered = orderedPlatforms(b, a);
    expect(ordered.less(b, a)).toBe(true);
    expect(ordered.less(a, b)).toBe(false);
    expect(ordered.match(c)).toBe(false);
    const any = anyPlatform(b, a);
    expect([any.less(a, b), any.less(b, a), any.less(a, c), any.match(c)]).toEqual([false, false, true, false]);
    expect([allPlatforms.match(c), allPlatforms.less(a, b)]).toEqual([true, false]);
    expect(platformMatches([{ os: "linux", architecture: "x86_64" }], { os: "linux", architecture: "amd64", variant: "v1" })).toBe(true);
    expect(platformMatches([a], undefined)).toBe(false);
  });
});

describe("choosing manifests from an index", () => {
  const entry = (digest: string, platform?: string) => ({
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest,
    size: 1,
    ...(platform ? { platform: parsePlatform(platform) } : {}),
  });
  const index: Index = {
    manifests: [
      entry("sha256:1", "linux/arm/v6"),
      entry("sha256:2", "linux/amd64"),
      entry("sha256:3"),
      entry("sha256:4", "linux/arm/v7"),
      entry("sha256:5", "linux/arm64"),
    ],
  };

  it("keeps the matching entries and those without a platform, in the index's order", () => {
    expect(filterManifests(index, anyPlatform(parsePlatform("linux/arm/v7"))).map((m) => m.digest)).toEqual(["sha256:3", "sha256:4"]);
    expect(filterManifests(index, onlyPlatform(parsePlatform("linux/arm/v7"))).map((m) => m.digest)).toEqual(["sha256:1", "sha256:3", "sha256:4"]);
  });

  it("chooses the most preferred platform", () => {
    expect(chooseManifest(index, onlyPlatform(parsePlatform("linux/arm64")))?.digest).toBe("sha256:5");
    expect(chooseManifest(index, onlyPlatform(parsePlatform("linux/arm/v8")))?.digest).toBe("sha256:4");
    expect(chooseManifest(index, onlyPlatform(parsePlatform("linux/arm/v6")))?.digest).toBe("sha256:1");
    expect(chooseManifest(index, onlyPlatform(parsePlatform("windows/amd64")))).toBeUndefined();
  });
});

describe("the default snapshotter (containerd's defaults.DefaultSnapshotter)", () => {
  it.each([
    ["linux", "overlayfs"],
    ["windows", "windows"],
    ["darwin", "native"],
  ])("of %s is %s", (os, snapshotter) => {
    expect(defaultSnapshotterFor(os)).toBe(snapshotter);
  });

  it("of this host follows its OS", () => {
    expect(defaultSnapshotterFor()).toBe(defaultSnapshotterFor(host.os));
  });
});
