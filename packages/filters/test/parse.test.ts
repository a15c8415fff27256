import { FilterSyntaxError, parseFilter } from "@berth/filters";
import type { Selector } from "@berth/filters";
import { describe, expect, it } from "vitest";

/** The selectors of a single filter string. */
function selectors(input: string): readonly Selector[] {
  const { alternatives } = parseFilter(input);
  expect(alternatives).toHaveLength(1);
  return alternatives[0] ?? [];
}

function syntaxError(input: string): FilterSyntaxError {
  try {
    parseFilter(input);
  } catch (error) {
    if (error instanceof FilterSyntaxError) return error;
    throw error;
  }
  throw new Error(`${JSON.stringify(input)} parsed, but should not have`);
}

describe("parseFilter: selectors", () => {
  it.each([
    ["name", [{ fieldpath: ["name"] }]],
    ["labels.bar", [{ fieldpath: ["labels", "bar"] }]],
    ["name==foo", [{ fieldpath: ["name"], operator: "==", value: "foo" }]],
    ["name!=foo", [{ fieldpath: ["name"], operator: "!=", value: "foo" }]],
    ["name~=^foo", [{ fieldpath: ["name"], operator: "~=", value: "^foo" }]],
    ["name==foo,labels.bar", [{ fieldpath: ["name"], operator: "==", value: "foo" }, { fieldpath: ["labels", "bar"] }]],
    ["a_1.B2.c3", [{ fieldpath: ["a_1", "B2", "c3"] }]],
    ["labels.foo==omg_asdf.asdf-qwer", [{ fieldpath: ["labels", "foo"], operator: "==", value: "omg_asdf.asdf-qwer" }]],
    ["name==docker.io/library/alpine:latest", [{ fieldpath: ["name"], operator: "==", value: "docker.io/library/alpine:latest" }]],
    ["name==日本語", [{ fieldpath: ["name"], operator: "==", value: "日本語" }]],
    [`name==a"b'c`, [{ fieldpath: ["name"], operator: "==", value: `a"b'c` }]],
    ["name=='a'", [{ fieldpath: ["name"], operator: "==", value: "'a'" }]],
    ["name==a=b!c~d", [{ fieldpath: ["name"], operator: "==", value: "a=b!c~d" }]],
  ] as const)("%s", (input, expected) => {
    expect(selectors(input)).toEqual(expected);
  });

  it("quotes field segments with double quotes", () => {
    expect(selectors(`labels."containerd.io/gc.root"`)).toEqual([{ fieldpath: ["labels", "containerd.io/gc.root"] }]);
    expect(selectors(`labels."very complex label"==something`)).toEqual([{ fieldpath: ["labels", "very complex label"], operator: "==", value: "something" }]);
    expect(selectors(`labels."with \\\\ and \\"".post==present`)).toEqual([
      { fieldpath: ["labels", 'with \\ and "', "post"], operator: "==", value: "present" },
    ]);
    expect(selectors(`"".x`)).toEqual([{ fieldpath: ["", "x"] }]);
  });

  it("decodes Go escapes in quoted strings", () => {
    const input = String.raw`name=="\a\b\f\n\r\t\v\\\"\101\x41\u00e9\U0001F600\377"`;
    expect(selectors(input)[0]?.value).toBe('\x07\b\f\n\r\t\v\\"AAé😀\u00ff');
    expect(selectors(String.raw`name=="too complex, yo"`)[0]?.value).toBe("too complex, yo");
    expect(selectors(String.raw`name==""`)[0]?.value).toBe("");
    // Go encodes a surrogate code point as U+FFFD.
    expect(selectors(String.raw`name=="\ud800"`)[0]?.value).toBe("\ufffd");
    // A raw carriage return is allowed in a quoted string; only newline is not.
    expect(selectors('name=="a\rb"')[0]?.value).toBe("a\rb");
  });

  it("accepts the three quote forms after ~=", () => {
    expect(selectors(String.raw`name~="a\"b"`)[0]?.value).toBe('a"b');
    expect(selectors(String.raw`name~=/a\/b/`)[0]?.value).toBe("a/b");
    expect(selectors(String.raw`name~=|a\|b|`)[0]?.value).toBe("a|b");
    expect(selectors(String.raw`name~=/a\tb/`)[0]?.value).toBe("a\tb");
    expect(selectors(String.raw`name~=/a\\d/`)[0]?.value).toBe(String.raw`a\d`);
    expect(selectors("topic~=/tasks/")[0]?.value).toBe("tasks");
    expect(selectors("topic~=|a,b|")[0]?.value).toBe("a,b");
    // containerd's RegexpQuotedValueGarbage case.
    expect(selectors(String.raw`other~=/[abc]{0,1}"\//,name!=foo`)).toEqual([
      { fieldpath: ["other"], operator: "~=", value: '[abc]{0,1}"/' },
      { fieldpath: ["name"], operator: "!=", value: "foo" },
    ]);
  });

  it("skips whitespace between tokens", () => {
    const expected = [
      { fieldpath: ["name"], operator: "==", value: "foo" },
      { fieldpath: ["labels", "x y"] },
      { fieldpath: ["a", "b"], operator: "~=", value: "c" },
    ];
    expect(selectors(`  name  ==  foo  ,  labels . "x y"  ,a.b~=/c/ `)).toEqual(expected);
    expect(selectors(`\tname\n==\u00a0foo\u3000,labels.\r"x y",a .b ~= |c|`)).toEqual(expected);
  });

  it("treats | as part of a value, not as OR", () => {
    expect(selectors("name==a|name==b")).toEqual([{ fieldpath: ["name"], operator: "==", value: "a|name==b" }]);
  });
});

describe("parseFilter: Berth's extension for / and |", () => {
  it("reads a ~= value whose closing delimiter is followed by more text as one regexp", () => {
    expect(selectors("topic~=/tasks/.+,namespace==bb")).toEqual([
      { fieldpath: ["topic"], operator: "~=", value: "/tasks/.+" },
      { fieldpath: ["namespace"], operator: "==", value: "bb" },
    ]);
    expect(selectors("topic~=|a|b")[0]?.value).toBe("|a|b");
    // The raw run is not unescaped, so regexp escapes survive.
    expect(selectors(String.raw`topic~=/a\d/x`)[0]?.value).toBe(String.raw`/a\d/x`);
  });

  it("keeps containerd's delimited meaning when the delimiter ends the value", () => {
    expect(selectors("topic~=/tasks/ ,x")).toEqual([{ fieldpath: ["topic"], operator: "~=", value: "tasks" }, { fieldpath: ["x"] }]);
    expect(selectors("topic~=/tasks/,x")[0]?.value).toBe("tasks");
  });

  it("reads values starting with / or | after == and != as plain text", () => {
    expect(selectors("topic==/namespaces/delete,namespace==foo")).toEqual([
      { fieldpath: ["topic"], operator: "==", value: "/namespaces/delete" },
      { fieldpath: ["namespace"], operator: "==", value: "foo" },
    ]);
    expect(selectors("topic!=/tasks/")[0]?.value).toBe("/tasks/");
    expect(selectors("x!=|a|")[0]?.value).toBe("|a|");
  });
});

describe("parseFilter: errors", () => {
  it.each([
    ["name==", 6, "value"],
    ["name==   ", 9, "value"],
    ["==foo", 0, "field"],
    ["name=foo", 4, "operator"],
    ["name===foo", 4, "operator"],
    ["name==!foo", 4, "operator"],
    ["name foo", 5, "operator"],
    [`name"x"`, 4, "operator"],
    ["name~=/unterminated", 19, "closing '/'"],
    ["name~=|unterminated", 19, "closing '|'"],
    [`"unterminated`, 13, `closing '"'`],
    [`labels."a`, 9, `closing '"'`],
    ['"a\nb"', 2, `closing '"'`],
    [String.raw`name=="abc\"`, 12, `closing '"'`],
    ["name==foo,", 10, "field"],
    ["name==foo,,x", 10, "field"],
    ["labels.", 7, "field"],
    ["labels..x", 7, "field"],
    [",name", 0, "field"],
    ["   ", 3, "field"],
    [`labels.?"x".post==present`, 7, "field"],
    ["labels.|foo|==omg", 7, "field"],
    ["labels./foo/==omg", 7, "field"],
    ["image~=,id?=?fbaq", 7, "value"],
    ["name==.foo", 6, "value"],
    ["name== =foo", 7, "value"],
    ["name==foo bar", 10, "end of selector"],
    [`name~="a"b`, 9, "end of selector"],
    [`name=="a"b`, 9, "end of selector"],
    ["name==a\u0001b", 7, "end of selector"],
    ["name~=(", 6, "value"],
    ["topic~=(", 7, "value"],
    ["name~=a)", 6, "value"],
    ["name~=/(/", 6, "value"],
    ["name~=(?i)a)(b", 6, "value"],
    [String.raw`name=="a\qb"`, 8, "escape sequence"],
    [String.raw`name=="\x4"`, 7, "escape sequence"],
    [String.raw`name=="\400"`, 7, "escape sequence"],
    [String.raw`name=="\12"`, 7, "escape sequence"],
    [String.raw`name=="\U00110000"`, 7, "escape sequence"],
    [String.raw`name=="a\'"`, 8, "escape sequence"],
    [String.raw`name=="a\/"`, 8, "escape sequence"],
    [String.raw`name~=/a\|b/`, 8, "escape sequence"],
    [String.raw`name~=/a\d/`, 8, "escape sequence"],
    ["a\0", 1, "valid character"],
    ["name==\ud800", 6, "valid character"],
  ] as const)("%j fails at %i expecting %s", (input, position, expected) => {
    const error = syntaxError(input);
    expect({ position: error.position, expected: error.expected }).toEqual({ position, expected });
    expect(error.input).toBe(input);
    expect(error.message).toContain(`expected ${expected} at position ${position}`);
  });

  it("formats the message with a marker at the position", () => {
    const error = syntaxError("topic~=(");
    expect(error.message).toMatch(/^filters: parse error: \[topic~=>\|<\(\] expected value at position 7: .*regular expression/);
    expect(syntaxError("name==").message).toBe("filters: parse error: [name==>|<] expected value at position 6: unexpected end of input");
    expect(syntaxError("name=foo").message).toContain(`unsupported operator "="`);
    expect(syntaxError("labels.|foo|==x").message).toContain(`only be quoted with "..."`);
  });

  it("escapes control characters and shortens long inputs in the message", () => {
    expect(syntaxError('"a\nb"').message).toContain(String.raw`["a>|<\u000ab"]`);
    const long = `${"a".repeat(500)}==`;
    const message = syntaxError(long).message;
    expect(message.length).toBeLessThan(250);
    expect(message).toContain(`[…${"a".repeat(58)}==>|<] expected value at position 502`);
  });

  it("is an InvalidArgument Error", () => {
    const error = syntaxError("name==");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("FilterSyntaxError");
    expect(error.kind).toBe("InvalidArgument");
  });
});
