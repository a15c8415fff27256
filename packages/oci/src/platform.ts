/** An OCI platform: what a manifest runs on (containerd's `specs.Platform`, without OS version and features). */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}

/** A platform specifier that cannot be parsed; `kind` is Berth's error kind (containerd's errdefs). */
export class PlatformSyntaxError extends Error {
  override readonly name = "PlatformSyntaxError";

  constructor(
    readonly specifier: string,
    readonly kind: "InvalidArgument" | "NotImplemented",
    why: string,
  ) {
    super(`platform ${JSON.stringify(specifier)}: ${why}`);
  }
}

const knownOses = new Set([
  "aix",
  "android",
  "darwin",
  "dragonfly",
  "freebsd",
  "hurd",
  "illumos",
  "ios",
  "js",
  "linux",
  "nacl",
  "netbsd",
  "openbsd",
  "plan9",
  "solaris",
  "windows",
  "zos",
]);
const knownArchitectures = new Set([
  "386",
  "amd64",
  "amd64p32",
  "arm",
  "armbe",
  "arm64",
  "arm64be",
  "ppc64",
  "ppc64le",
  "loong64",
  "mips",
  "mipsle",
  "mips64",
  "mips64le",
  "mips64p32",
  "mips64p32le",
  "ppc",
  "riscv",
  "riscv64",
  "s390",
  "s390x",
  "sparc",
  "sparc64",
  "wasm",
]);
/** Node's names (process.platform, process.arch) in Go's, which containerd uses. */
const goOses: Readonly<Record<string, string>> = { win32: "windows", sunos: "solaris" };
const goArchitectures: Readonly<Record<string, string>> = { x64: "amd64", ia32: "386", ppc64: "ppc64le", mipsel: "mipsle" };

const withVariant = (os: string, architecture: string, variant: string): Platform => (variant === "" ? { os, architecture } : { os, architecture, variant });

/** containerd's platforms.DefaultSpec: this host's platform in containerd's names (`linux/amd64`, `linux/arm/v7`). */
export function hostPlatform(): Platform {
  const os = goOses[process.platform] ?? process.platform;
  const architecture = goArchitectures[process.arch] ?? process.arch;
  const armVersion = (process.config.variables as { arm_version?: string }).arm_version;
  return withVariant(os, architecture, architecture === "arm" && armVersion ? `v${armVersion}` : "");
}

function normalizeOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === "macos" ? "darwin" : lower;
}

function normalizeArchitecture(architecture: string, variant: string): [string, string] {
  const arch = architecture.toLowerCase();
  const v = variant.toLowerCase();
  switch (arch) {
    case "i386":
      return ["386", ""];
    case "x86_64":
    case "x86-64":
    case "amd64":
      return ["amd64", v === "v1" ? "" : v];
    case "aarch64":
    case "arm64":
      return ["arm64", v === "8" || v === "v8" ? "" : v];
    case "armhf":
      return ["arm", "v7"];
    case "armel":
      return ["arm", "v6"];
    case "arm":
      return ["arm", v === "" || v === "7" ? "v7" : ["5", "6", "8"].includes(v) ? `v${v}` : v];
    default:
      return [arch, v];
  }
}

/** containerd's platforms.Normalize: `x86_64` is amd64, `aarch64/v8` is arm64, `arm` means arm/v7, `macos` is darwin, … */
export function normalizePlatform(platform: Platform): Platform {
  const [architecture, variant] = normalizeArchitecture(platform.architecture, platform.variant ?? "");
  return withVariant(normalizeOs(platform.os), architecture, variant);
}

const component = /^[A-Za-z0-9_-]+$/;

/**
 * containerd's platforms.Parse: `os`, `architecture` (the other half is this host's), `os/arch`
 * or `os/arch/variant`, normalized as containerd does (`linux/x86_64` is linux/amd64, `linux/arm`
 * keeps no variant, `linux/arm64/v8` keeps v8). Throws PlatformSyntaxError (InvalidArgument) for
 * a malformed specifier or a lone unknown name, NotImplemented for wildcards.
 */
export function parsePlatform(specifier: string): Platform {
  if (specifier.includes("*")) throw new PlatformSyntaxError(specifier, "NotImplemented", "wildcards are not supported");
  const parts = specifier.split("/");
  const bad = parts.find((part) => !component.test(part));
  if (bad !== undefined) throw new PlatformSyntaxError(specifier, "InvalidArgument", `${JSON.stringify(bad)} is not a component (${component.source})`);
  const [first = "", second, third] = parts;
  if (parts.length === 1) {
    const host = hostPlatform();
    const os = normalizeOs(first);
    if (knownOses.has(os)) return withVariant(os, host.architecture, host.architecture === "arm" && host.variant !== "v7" ? (host.variant ?? "") : "");
    const [architecture, variant] = normalizeArchitecture(first, "");
    if (knownArchitectures.has(architecture)) return withVariant(host.os, architecture, architecture === "arm" && variant === "v7" ? "" : variant);
    throw new PlatformSyntaxError(specifier, "InvalidArgument", "unknown operating system or architecture");
  }
  if (parts.length === 2) {
    const [architecture, variant] = normalizeArchitecture(second!, "");
    return withVariant(normalizeOs(first), architecture, architecture === "arm" && variant === "v7" ? "" : variant);
  }
  if (parts.length === 3) {
    const [architecture, variant] = normalizeArchitecture(second!, third!);
    return withVariant(normalizeOs(first), architecture, architecture === "arm64" && variant === "" ? "v8" : variant);
  }
  throw new PlatformSyntaxError(specifier, "InvalidArgument", "a platform has at most three components (os/architecture/variant)");
}

/** containerd's platforms.Format: `os/architecture[/variant]`, as ctr prints platforms. */
export const platformText = (platform: Platform): string => [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");

/** Matches platforms, and orders the matching ones by preference (containerd's MatchComparer). */
export interface PlatformMatcher {
  match(platform: Platform): boolean;
  /** Whether `a` is preferred to `b`. */
  less(a: Platform, b: Platform): boolean;
}

/** containerd's platforms.NewMatcher: `platform` exactly, once both are normalized. */
function exactly(platform: Platform): (candidate: Platform) => boolean {
  const want = normalizePlatform(platform);
  return (candidate) => {
    const have = normalizePlatform(candidate);
    return have.os === want.os && have.architecture === want.architecture && (have.variant ?? "") === (want.variant ?? "");
  };
}

/** containerd's platforms.Ordered: any of `platforms`, the earlier ones preferred. */
export function orderedPlatforms(...platforms: readonly Platform[]): PlatformMatcher {
  const matchers = platforms.map(exactly);
  return {
    match: (platform) => matchers.some((m) => m(platform)),
    less: (a, b) => {
      for (const m of matchers) {
        const [am, bm] = [m(a), m(b)];
        if (am || bm) return am && !bm;
      }
      return false;
    },
  };
}

/** containerd's platforms.Any: any of `platforms`, with no preference among them. */
export function anyPlatform(...platforms: readonly Platform[]): PlatformMatcher {
  const matchers = platforms.map(exactly);
  const match = (platform: Platform) => matchers.some((m) => m(platform));
  return { match, less: (a, b) => match(a) && !match(b) };
}

/** containerd's platforms.All: every platform, none preferred. */
export const allPlatforms: PlatformMatcher = { match: () => true, less: () => false };

/**
 * What a platform also runs, best first (containerd 1.6's platformVector): arm/vN runs arm/vN-1
 * down to v5, arm64 runs arm/v8 and below, amd64 runs 386.
 */
function compatible(platform: Platform): Platform[] {
  const { os, architecture, variant = "" } = platform;
  const version = Number.parseInt(variant.replace(/^v/, ""), 10);
  if (architecture === "amd64") return [platform, { os, architecture: "386" }];
  if (architecture === "arm64") return [platform, ...compatible({ os, architecture: "arm", variant: variant || "v8" })];
  if (architecture !== "arm" || !(version > 5)) return [platform];
  return [platform, ...Array.from({ length: version - 5 }, (_, i) => ({ os, architecture, variant: `v${version - 1 - i}` }))];
}

/** containerd's platforms.Only: `platform` and what it also runs (see `compatible`), best first. */
export const onlyPlatform = (platform: Platform): PlatformMatcher => orderedPlatforms(...compatible(normalizePlatform(platform)));

/** containerd's platforms.OnlyStrict: `platform` alone (normalized), not what it also runs. */
export const onlyPlatformStrict = (platform: Platform): PlatformMatcher => orderedPlatforms(normalizePlatform(platform));

/** containerd's platforms.Default: this host's platform and what it also runs. */
export const defaultPlatformMatcher = (): PlatformMatcher => onlyPlatform(hostPlatform());

/** Whether `platform` is exactly one of `wanted` once normalized (containerd's Any); an absent platform never is. */
export function platformMatches(wanted: readonly Platform[], platform: Platform | undefined): boolean {
  return platform !== undefined && anyPlatform(...wanted).match(platform);
}
