/**
 * JSON as Go's encoding/json writes it: struct fields in declaration order, map keys sorted, and
 * `<`, `>`, `&`, U+2028 and U+2029 escaped. Field orders are runtime-spec's specs-go (1.0.2 and
 * 1.1.0-rc.1 alike for the fields listed); unlisted fields keep their place after the known ones.
 */
type FieldList = readonly (readonly [string, string?])[];

const goFieldOrder: Readonly<Record<string, FieldList>> = {
  Spec: [
    ["ociVersion"],
    ["process", "Process"],
    ["root", "Root"],
    ["hostname"],
    ["domainname"],
    ["mounts", "Mount"],
    ["hooks"],
    ["annotations", "Map"],
    ["linux"],
    ["solaris"],
    ["windows", "Windows"],
    ["vm"],
    ["zos"],
  ],
  Process: [
    ["terminal"],
    ["consoleSize", "ConsoleSize"],
    ["user", "User"],
    ["args"],
    ["commandLine"],
    ["env"],
    ["cwd"],
    ["capabilities"],
    ["rlimits"],
    ["noNewPrivileges"],
    ["apparmorProfile"],
    ["oomScoreAdj"],
    ["scheduler"],
    ["selinuxLabel"],
    ["ioPriority"],
  ],
  ConsoleSize: [["height"], ["width"]],
  User: [["uid"], ["gid"], ["umask"], ["additionalGids"], ["username"]],
  Root: [["path"], ["readonly"]],
  Mount: [["destination"], ["type"], ["source"], ["options"]],
  Windows: [
    ["layerFolders"],
    ["devices", "Device"],
    ["resources", "Resources"],
    ["credentialSpec"],
    ["servicing"],
    ["ignoreFlushesDuringBoot"],
    ["hyperv", "HyperV"],
    ["network", "Network"],
  ],
  Device: [["id"], ["idType"]],
  Resources: [
    ["memory", "Memory"],
    ["cpu", "Cpu"],
    ["storage", "Storage"],
  ],
  Memory: [["limit"]],
  Cpu: [["count"], ["shares"], ["maximum"]],
  Storage: [["iops"], ["bps"], ["sandboxSize"]],
  HyperV: [["utilityVMPath"]],
  Network: [["endpointList"], ["allowUnqualifiedDNSQuery"], ["DNSSearchList"], ["networkSharedContainerName"], ["networkNamespace"]],
};

function ordered(value: unknown, type: string | undefined): unknown {
  if (type === undefined || value === null || typeof value !== "object") return value;
  if (type === "Map") return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (Array.isArray(value)) return value.map((item) => ordered(item, type));
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, fieldType] of goFieldOrder[type] ?? []) if (source[name] !== undefined) out[name] = ordered(source[name], fieldType);
  for (const [name, field] of Object.entries(source)) if (!(name in out) && field !== undefined) out[name] = field;
  return out;
}

const goEscapes: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029" };

/** `JSON.stringify` with Go's HTML-safe escaping (those characters only ever occur inside strings). */
export const goJson = (value: unknown): string => JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => goEscapes[char]!);

/** A Windows spec serialised byte for byte as containerd's `json.Marshal` writes it. */
export const windowsSpecJson = (spec: unknown): string => goJson(ordered(spec, "Spec"));
