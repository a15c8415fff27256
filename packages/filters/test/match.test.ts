import { adaptObject, matchAll, parseFilter, parseFilters } from "@berth/filters";
import type { Adaptor, FieldPath } from "@berth/filters";
import { describe, expect, it } from "vitest";

interface Entry {
  name?: string;
  other?: string;
  labels?: Record<string, string>;
}

// containerd's filters/filter_test.go corpus and its adaptor (empty strings count as absent).
const corpus: Entry[] = [
  { name: "foo", labels: { foo: "true" } },
  { name: "bar" },
  { name: "foo", labels: { foo: "present", "more complex label": "present" } },
  { name: "bar", labels: { bar: "true" } },
  { name: "fooer", labels: { 'more complex label with \\ and "': "present" } },
  { name: "fooer", labels: { 'more complex label with \\ and ".post': "present" } },
  { name: "baz", other: "too complex, yo" },
  { name: "bazo", other: "abc" },
  { name: "compound", labels: { foo: "omg_asdf.asdf-qwer" } },
];

function adapt(entry: Entry): Adaptor {
  return {
    field([head, ...rest]: FieldPath) {
      switch (head) {
        case "name":
          return entry.name || undefined;
        case "other":
          return entry.other || undefined;
        case "labels":
          return entry.labels?.[rest.join(".")];
        default:
          return undefined;
      }
    },
  };
}

/** Indices of the corpus entries the filter matches. */
function matching(...inputs: string[]): number[] {
  const filter = parseFilters(inputs);
  return corpus.flatMap((entry, i) => (filter.match(adapt(entry)) ? [i] : []));
}

describe("containerd's filter corpus", () => {
  it.each([
    ["", [0, 1, 2, 3, 4, 5, 6, 7, 8]],
    ["name", [0, 1, 2, 3, 4, 5, 6, 7, 8]],
    ["labels.foo", [0, 2, 8]],
    ["labels.foo,name", [0, 2, 8]],
    ["labels.foo==true", [0]],
    ["labels.foo==omg_asdf.asdf-qwer", [8]],
    ["name==bar", [1, 3]],
    ["name!=bar", [0, 2, 4, 5, 6, 7, 8]],
    ["name==bar,labels.bar", [3]],
    [`other=="too complex, yo"`, [6]],
    ["other~=[abc]+,name!=foo", [6, 7]],
    ["other~=/[abc]+/,name!=foo", [6, 7]],
    ["other~=/[abc]{1,2}/,name!=foo", [6, 7]],
    [String.raw`other~=/[abc]{0,1}"\//,name!=foo`, []],
    ["name==bar,labels.bar==true", [3]],
    ["name==bar,labels.bar==wrong", []],
    [`name==foo,labels."more complex label"`, [2]],
    [String.raw`labels."more complex label with \\ and \""==present`, [4]],
    [String.raw`labels."more complex label with \\ and \"".post==present`, [5]],
    ["name~=^foo", [0, 2, 4, 5]],
    ["name~=^foo$", [0, 2]],
    ["name~=oo", [0, 2, 4, 5]],
    ["name~=(?i)^FOO$", [0, 2]],
    ["name==foo,labels.bar", []],
    ["name!=foo", [1, 3, 4, 5, 6, 7, 8]],
  ] as const)("%j matches %j", (input, expected) => {
    expect(matching(input)).toEqual(expected);
  });

  it("ORs several filter strings", () => {
    expect(matching("name==bar", "name==baz")).toEqual([1, 3, 6]);
    expect(matching("labels.foo==true", "other~=^abc$")).toEqual([0, 7]);
    expect(parseFilters(["name==bar", "name==baz"]).alternatives).toHaveLength(2);
  });
});

describe("match semantics", () => {
  const filter = (input: string) => parseFilter(input);
  const of = (fields: Record<string, string>) => adaptObject(fields);

  it("tests presence, including of empty values", () => {
    expect(filter("name").match(of({ name: "" }))).toBe(true);
    expect(filter("name").match(of({}))).toBe(false);
  });

  it("requires presence for ==", () => {
    expect(filter("name==foo").match(of({ name: "foo" }))).toBe(true);
    expect(filter("name==foo").match(of({ name: "food" }))).toBe(false);
    expect(filter(`name==""`).match(of({}))).toBe(false);
    expect(filter(`name==""`).match(of({ name: "" }))).toBe(true);
  });

  it("treats an absent field as the empty string for !=", () => {
    expect(filter("name!=foo").match(of({}))).toBe(true);
    expect(filter("name!=foo").match(of({ name: "foo" }))).toBe(false);
    expect(filter(`name!=""`).match(of({}))).toBe(false);
    expect(filter(`name!=""`).match(of({ name: "x" }))).toBe(true);
  });

  it("matches ~= unanchored, against the empty string when absent", () => {
    expect(filter("name~=oo").match(of({ name: "food" }))).toBe(true);
    expect(filter("name~=^oo").match(of({ name: "food" }))).toBe(false);
    expect(filter("name~=^$").match(of({}))).toBe(true);
    expect(filter(`name~="."`).match(of({}))).toBe(false);
    expect(filter("name~=/./").match(of({ name: "x" }))).toBe(true);
  });

  it("matches the event-style filters Berth accepts beyond containerd", () => {
    const tasks = filter("topic~=/tasks/.+,namespace==bb");
    expect(tasks.match(of({ topic: "/tasks/start", namespace: "bb" }))).toBe(true);
    expect(tasks.match(of({ topic: "/images/create", namespace: "bb" }))).toBe(false);
    expect(tasks.match(of({ topic: "/tasks/start", namespace: "cc" }))).toBe(false);
    expect(tasks.match(of({ topic: "/tasks/", namespace: "bb" }))).toBe(false);

    const deletes = filter("topic==/namespaces/delete,namespace==foo");
    expect(deletes.match(of({ topic: "/namespaces/delete", namespace: "foo" }))).toBe(true);
    expect(deletes.match(of({ topic: "/namespaces/create", namespace: "foo" }))).toBe(false);

    // containerd's meaning: the slashes delimit the regexp "tasks".
    expect(filter("topic~=/tasks/").match(of({ topic: "/x/tasks" }))).toBe(true);
    expect(filter("topic~=/^tasks/").match(of({ topic: "/tasks/start" }))).toBe(false);
    expect(filter("topic~=|start,|").match(of({ topic: "start," }))).toBe(true);
  });

  it("does not treat | as OR", () => {
    expect(filter("name==a|name==b").match(of({ name: "a" }))).toBe(false);
    expect(filter("name==a|name==b").match(of({ name: "a|name==b" }))).toBe(true);
  });

  it("matches everything for empty input", () => {
    expect(parseFilter("")).toBe(matchAll);
    expect(parseFilters([])).toBe(matchAll);
    expect(matchAll.match(of({}))).toBe(true);
    expect(matchAll.alternatives).toEqual([[]]);
    expect(parseFilters([""]).match(of({}))).toBe(true);
    expect(parseFilters(["name==x", ""]).match(of({ name: "y" }))).toBe(true);
    expect(parseFilters(["name==x", "name==z"]).match(of({ name: "y" }))).toBe(false);
  });

  it("passes the parsed field path to the adaptor", () => {
    const seen: FieldPath[] = [];
    parseFilter(`labels."a.b".c==x,name`).match({
      field(path) {
        seen.push(path);
        return "x";
      },
    });
    expect(seen).toEqual([["labels", "a.b", "c"], ["name"]]);
  });

  it("exposes a frozen selector structure", () => {
    const parsed = parseFilters(["name==a,labels.b", "x~=y"]);
    expect(parsed.alternatives).toEqual([
      [{ fieldpath: ["name"], operator: "==", value: "a" }, { fieldpath: ["labels", "b"] }],
      [{ fieldpath: ["x"], operator: "~=", value: "y" }],
    ]);
    expect(Object.isFrozen(parsed.alternatives)).toBe(true);
    expect(Object.isFrozen(parsed.alternatives[0])).toBe(true);
    expect(Object.isFrozen(parsed.alternatives[0]?.[0])).toBe(true);
    expect(Object.isFrozen(parsed.alternatives[0]?.[0]?.fieldpath)).toBe(true);
  });

  it("compiles regexps at parse time, not per match", () => {
    const original = globalThis.RegExp;
    const f = parseFilter("name~=^a+$");
    let constructed = 0;
    globalThis.RegExp = new Proxy(original, {
      construct(target, args) {
        constructed++;
        return Reflect.construct(target, args) as object;
      },
    });
    try {
      for (let i = 0; i < 10; i++) f.match(of({ name: "aaa" }));
    } finally {
      globalThis.RegExp = original;
    }
    expect(constructed).toBe(0);
  });
});

describe("adaptObject", () => {
  const record = {
    name: "box",
    pid: 42,
    running: false,
    big: 10n,
    nothing: null,
    runtime: { name: "io.containerd.runc.v2", options: { shim: "x" } },
    labels: { "containerd.io/gc.root": "2024", a: "1", "a.b": "2" },
    annotations: new Map([["k.v", "w"]]),
    tags: ["x"],
  };
  const adaptor = adaptObject(record, ["labels", "annotations"]);
  const f = (input: string) => parseFilter(input).match(adaptor);

  it("resolves nested objects", () => {
    expect(adaptor.field(["name"])).toBe("box");
    expect(adaptor.field(["runtime", "name"])).toBe("io.containerd.runc.v2");
    expect(adaptor.field(["runtime", "options", "shim"])).toBe("x");
    expect(adaptor.field(["runtime", "missing"])).toBeUndefined();
    expect(adaptor.field(["name", "length"])).toBeUndefined();
    expect(f("runtime.name~=runc")).toBe(true);
  });

  it("joins the rest of a map field's path with dots", () => {
    expect(adaptor.field(["labels", "a", "b"])).toBe("2");
    expect(adaptor.field(["labels", "a"])).toBe("1");
    expect(adaptor.field(["labels"])).toBeUndefined();
    expect(adaptor.field(["annotations", "k", "v"])).toBe("w");
    expect(f(`labels."containerd.io/gc.root"`)).toBe(true);
    expect(f("labels.a.b==2")).toBe(true);
    expect(f("labels.c")).toBe(false);
  });

  it("renders scalars with String() and treats everything else as absent", () => {
    expect(adaptor.field(["pid"])).toBe("42");
    expect(adaptor.field(["running"])).toBe("false");
    expect(adaptor.field(["big"])).toBe("10");
    expect(adaptor.field(["nothing"])).toBeUndefined();
    expect(adaptor.field(["runtime"])).toBeUndefined();
    expect(adaptor.field(["tags"])).toBeUndefined();
    expect(adaptor.field(["tags", "0"])).toBeUndefined();
    expect(adaptor.field([])).toBeUndefined();
    expect(f("pid==42,running==false")).toBe(true);
  });

  it("never resolves inherited properties", () => {
    expect(adaptor.field(["constructor"])).toBeUndefined();
    expect(adaptor.field(["labels", "constructor"])).toBeUndefined();
    expect(adaptor.field(["labels", "__proto__"])).toBeUndefined();
    expect(adaptor.field(["name", "toString"])).toBeUndefined();
    expect(f("labels.hasOwnProperty")).toBe(false);
  });
});
