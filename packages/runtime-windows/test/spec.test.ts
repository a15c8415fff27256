import { readFileSync } from "node:fs";
import { isKind } from "@berth/api";
import {
  type WindowsImageConfig,
  type WindowsSpecOpt,
  generateWindowsSpec,
  ociVersion,
  ociVersion17,
  windowsSpecJson,
  withAnnotations,
  withCpuCount,
  withEnv,
  withHostname,
  withHyperV,
  withImageConfig,
  withImageConfigArgs,
  withMemoryLimit,
  withProcessArgs,
  withProcessCommandLine,
  withProcessCwd,
  withTty,
  withTtySize,
  withUser,
} from "@berth/runtime-windows/spec";
import { describe, expect, it } from "vitest";

/** `## name` sections of a winspec fixture: name → the line containerd printed. */
function sections(file: string): Map<string, string> {
  const found = new Map<string, string>();
  const lines = readFileSync(new URL(`fixtures/${file}`, import.meta.url), "utf8").split("\n");
  lines.forEach((line, i) => {
    if (line.startsWith("## ")) found.set(line.slice(3), lines[i + 1]!);
  });
  return found;
}

// The images and options of the generator (reference/windows/generators/winspec.go), case by case.
const imageConfig: WindowsImageConfig = {
  Env: ["PATH=C:\\Windows\\system32;C:\\Windows", "FOO=image"],
  Cmd: ["cmd", "/S", "/C", "echo hello world"],
  WorkingDir: "C:\\app",
  User: "ContainerUser",
};
const cases: Record<string, () => WindowsSpecOpt[]> = {
  default: () => [],
  "image-config": () => [withImageConfig(imageConfig)],
  "image-config+user-args+env+hostname+tty": () => [
    withImageConfigArgs(imageConfig, ["ping", "-n", "1", "a b"]),
    withEnv(["FOO=user", "BAR=1"]),
    withHostname("winhost"),
    withTty,
    withTtySize(80, 24),
  ],
  "entrypoint+cmd": () => [withImageConfig({ Entrypoint: ["powershell.exe"], Cmd: ["-Command", "Write-Host hi"] })],
  "no-args-error": () => [withImageConfig({})],
  "argsescaped-cmd-only,user-args": () => [withImageConfigArgs({ Cmd: ["ping -n 1 localhost"], ArgsEscaped: true }, ["x y"])],
  "memory+cpu+hyperv+user": () => [
    withMemoryLimit(512 * 1024 * 1024),
    withHyperV,
    withUser("ContainerAdministrator"),
    withAnnotations({ a: "b" }),
    withProcessArgs("cmd", "/c", "dir"),
    withProcessCwd("C:\\work"),
  ],
  "linux-platform-for-comparison": () => [],
};

function printed(version: string, opts: WindowsSpecOpt[]): string {
  try {
    return windowsSpecJson(generateWindowsSpec(opts, version));
  } catch (error) {
    expect(isKind(error, "Unknown")).toBe(true);
    return `ERROR: ${(error as Error).message}`;
  }
}

describe.each([
  ["1.6.20", ociVersion],
  ["1.7.9", ociVersion17],
])("the Windows spec, byte for byte as containerd %s prints it", (release, version) => {
  const expected = sections(`winspec-${release}.txt`);
  // On Linux, Go's escapeAndCombineArgs panics; the Windows behaviour is the argument table below.
  const rows = [...expected].filter(([, line]) => !line.startsWith("PANIC"));

  it("covers every case of the fixture", () => {
    expect(rows.length).toBeGreaterThanOrEqual(7);
    for (const [name] of rows) expect(Object.keys(cases)).toContain(name);
  });

  it.each(rows)("%s", (name, line) => {
    expect(printed(version, cases[name]!())).toBe(line);
  });
});

describe("wingold (containerd built for Windows)", () => {
  const lines = readFileSync(new URL("fixtures/wingold.out", import.meta.url), "utf8").split("\n");
  const line = (tag: string) => lines.find((l) => l.startsWith(`${tag} `))!.slice(tag.length + 1);

  it("writes a commandLine spec with a CPU count as containerd 1.7 does", () => {
    const spec = windowsSpecJson(generateWindowsSpec([withProcessCommandLine('cmd /c "echo hi"'), withCpuCount(2)], ociVersion17));
    expect(`${spec} <nil>`).toBe(line("spec"));
  });
});
