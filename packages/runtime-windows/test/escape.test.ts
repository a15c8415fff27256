import { readFileSync } from "node:fs";
import { isKind } from "@berth/api";
import { type WindowsSpecOpt, escapeArg, generateWindowsSpec, withImageConfig, withImageConfigArgs, withProcessArgs } from "@berth/runtime-windows/spec";
import { describe, expect, it } from "vitest";

describe("escapeArg", () => {
  it("quotes as Go's EscapeArg built for Windows (wingold.out)", () => {
    const line = readFileSync(new URL("fixtures/wingold.out", import.meta.url), "utf8")
      .split("\n")
      .find((l) => l.startsWith("escape "))!;
    expect(`escape ${[`a b`, `c:\\x y\\`, `q"uote`].map(escapeArg).join(" ")}`).toBe(line);
  });

  it.each([
    ["", '""'],
    ["plain", "plain"],
    ["tab\there", '"tab\there"'],
    ["back\\slash", "back\\slash"],
    ['a\\"b', 'a\\\\\\"b'],
  ])("%j → %j", (arg, escaped) => {
    expect(escapeArg(arg)).toBe(escaped);
  });
});

type Row = { name: string; entrypoint?: string[]; cmd?: string[]; args?: string[]; error?: boolean; args_?: string[]; commandLine?: string };

function process(escaped: boolean, row: Row) {
  try {
    const spec = generateWindowsSpec([withImageConfigArgs({ Entrypoint: row.entrypoint ?? null, Cmd: row.cmd ?? null, ArgsEscaped: escaped }, row.args ?? [])]);
    return { args: spec.process?.args, commandLine: spec.process?.commandLine ?? "" };
  } catch (error) {
    expect(isKind(error, "Unknown")).toBe(true);
    return "error";
  }
}

// containerd's TestWithImageConfigArgsWindows (oci/spec_opts_windows_test.go), restated: without
// ArgsEscaped, args are always plain and the command line empty.
describe("image config args, ArgsEscaped false", () => {
  const rows: Row[] = [
    { name: "EmptyEntrypoint_EmptyCmd_EmptyArgs", error: true },
    { name: "EmptyEntrypoint_EmptyCmd_Args", args: ["additional", "args"], args_: ["additional", "args"] },
    { name: "EmptyEntrypoint_Cmd_EmptyArgs", cmd: ["cmd", "args"], args_: ["cmd", "args"] },
    { name: "EmptyEntrypoint_Cmd_Args", cmd: ["cmd", "args"], args: ["additional", "args"], args_: ["additional", "args"] },
    { name: "Entrypoint_EmptyCmd_EmptyArgs", entrypoint: ["entrypoint", "args"], args_: ["entrypoint", "args"] },
    { name: "Entrypoint_EmptyCmd_Args", entrypoint: ["entrypoint", "args"], args: ["additional", "args"], args_: ["entrypoint", "args", "additional", "args"] },
    { name: "Entrypoint_Cmd_EmptyArgs", entrypoint: ["entrypoint", "args"], cmd: ["cmd", "args"], args_: ["entrypoint", "args", "cmd", "args"] },
    {
      name: "Entrypoint_Cmd_Args",
      entrypoint: ["entrypoint", "args"],
      cmd: ["cmd", "args"],
      args: ["additional", "args"],
      args_: ["entrypoint", "args", "additional", "args"],
    },
  ];
  it.each(rows.map((row) => [row.name, row] as const))("%s", (_, row) => {
    expect(process(false, row)).toEqual(row.error ? "error" : { args: row.args_, commandLine: "" });
  });
});

// containerd's TestWithImageConfigArgsEscapedWindows, restated: with ArgsEscaped, a command that
// came from the image becomes a command line (its first element as is, the rest escaped).
describe("image config args, ArgsEscaped true", () => {
  const exe = '"C:\\My Folder\\MyProcess.exe" -arg1 "test value"';
  const cmd = 'cmd -args "hello world"';
  const rows: Row[] = [
    { name: "EmptyEntrypoint_EmptyCmd_EmptyArgs", error: true },
    { name: "EmptyEntrypoint_EmptyCmd_Args", args: ["additional", "-args", "hello world"], args_: ["additional", "-args", "hello world"], commandLine: "" },
    { name: "EmptyEntrypoint_Cmd_EmptyArgs", cmd: [cmd], commandLine: cmd },
    { name: "EmptyEntrypoint_Cmd_Args", cmd: [cmd], args: ["additional", "args"], args_: ["additional", "args"], commandLine: "" },
    { name: "Entrypoint_EmptyCmd_EmptyArgs", entrypoint: [exe], commandLine: exe },
    { name: "Entrypoint_EmptyCmd_Args", entrypoint: [exe], args: ["additional", "args with spaces"], commandLine: `${exe} additional "args with spaces"` },
    { name: "Entrypoint_Cmd_EmptyArgs", entrypoint: [exe], cmd: [cmd], commandLine: `${exe} "cmd -args \\"hello world\\""` },
    {
      name: "Entrypoint_Cmd_Args",
      entrypoint: [exe],
      cmd: [cmd],
      args: ["additional", "args with spaces"],
      commandLine: `${exe} additional "args with spaces"`,
    },
  ];
  it.each(rows.map((row) => [row.name, row] as const))("%s", (_, row) => {
    expect(process(true, row)).toEqual(row.error ? "error" : { args: row.args_, commandLine: row.commandLine });
  });
});

// containerd's TestWithProcessArgsOverwritesWithImageArgsEscaped and its three siblings: whichever
// of image config and process args comes last wins.
describe("image config and process args in either order", () => {
  const escaped = {
    Entrypoint: ['powershell.exe -Command "C:\\My Data\\MyExe.exe" -arg1 "-arg2 value2"'],
    Cmd: ['cmd.exe /S /C "C:\\test path\\test.exe"'],
    ArgsEscaped: true,
  };
  const plain = { Entrypoint: ["powershell.exe", "-Command"], Cmd: ["Write-Host", "echo Hello"] };
  const userArgs = ["cmd.exe", "echo", "should be set"];
  const run = (...opts: WindowsSpecOpt[]) => {
    const { args, commandLine } = generateWindowsSpec(opts).process!;
    return { args, commandLine: commandLine ?? "" };
  };
  it.each([
    ["args after a plain image", [withImageConfig(plain), withProcessArgs(...userArgs)], { args: userArgs, commandLine: "" }],
    ["args after an escaped image", [withImageConfig(escaped), withProcessArgs(...userArgs)], { args: userArgs, commandLine: "" }],
    [
      "a plain image after args",
      [withProcessArgs(...userArgs), withImageConfig(plain)],
      { args: ["powershell.exe", "-Command", "Write-Host", "echo Hello"], commandLine: "" },
    ],
    [
      "an escaped image after args",
      [withProcessArgs(...userArgs), withImageConfig(escaped)],
      { args: undefined, commandLine: 'powershell.exe -Command "C:\\My Data\\MyExe.exe" -arg1 "-arg2 value2" "cmd.exe /S /C \\"C:\\test path\\test.exe\\""' },
    ],
  ] as const)("%s", (_, opts, expected) => {
    expect(run(...opts)).toEqual(expected);
  });
});
