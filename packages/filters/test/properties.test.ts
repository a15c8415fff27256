import { FilterSyntaxError, parseFilter, parseFilters } from "@berth/filters";
import type { Adaptor, FieldPath, Filter, Operator, Selector } from "@berth/filters";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

// ---- Random input never throws anything but FilterSyntaxError ----

const specials = [".", ",", "=", "!", "~", '"', "/", "|", "\\", " ", "\t", "\n", "\0"];
const tokens = [
  ...specials,
  "==",
  "!=",
  "~=",
  "name",
  "labels",
  "a",
  "_1",
  "x.y",
  "(",
  ")",
  "[",
  "*",
  "+",
  "?",
  "^",
  "$",
  "\\x4",
  "\\x41",
  "\\u00e9",
  "\\U0001F600",
  "\\377",
  "\\400",
  "\\n",
  "\\d",
  "\\/",
  "\\|",
  '\\"',
  "é",
  "😀",
  "\u00a0",
  "\u3000",
  "\u200b",
  "\ud800",
  "\udc00",
  "\u0001",
  "(?i)",
];
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));

const anyInput = fc.oneof(
  fc.string({ unit: fc.constantFrom(...specials, "a", "b", "0", "_", "é") }),
  fc.array(fc.constantFrom(...tokens), { maxLength: 30 }).map((parts) => parts.join("")),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.oneof(codeUnit, fc.constantFrom(...tokens)), maxLength: 40 }),
);

const anyAdaptor: Adaptor = { field: (path) => (path.length % 3 === 0 ? undefined : path.join("/")) };

function checkOutcome(input: string): void {
  let filter: Filter;
  try {
    filter = parseFilter(input);
  } catch (error) {
    expect(error).toBeInstanceOf(FilterSyntaxError);
    const e = error as FilterSyntaxError;
    expect(e.input).toBe(input);
    expect(e.kind).toBe("InvalidArgument");
    expect(e.position).toBeGreaterThanOrEqual(0);
    expect(e.position).toBeLessThanOrEqual(input.length);
    expect(e.expected).not.toBe("");
    expect(e.message).toContain(`expected ${e.expected} at position ${e.position}`);
    return;
  }
  expect(filter.alternatives.length).toBe(1);
  expect(typeof filter.match(anyAdaptor)).toBe("boolean");
}

describe("random input", () => {
  it("yields a filter or a FilterSyntaxError, nothing else", () => {
    fc.assert(fc.property(anyInput, checkOutcome), { numRuns: 3000 });
  });

  it("is parsed in linear time even when long", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...tokens), { minLength: 2000, maxLength: 4000 }), (parts) => {
        checkOutcome(parts.join(""));
      }),
      { numRuns: 30 },
    );
    const long = `name==${"a".repeat(200_000)},${'labels."x".'.repeat(20_000)}y~=/${"\\/".repeat(50_000)}/`;
    const started = performance.now();
    expect(parseFilter(long).alternatives[0]).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("parseFilters fails with the error of the bad string", () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        let direct: unknown;
        try {
          parseFilter(input);
        } catch (error) {
          direct = error;
        }
        try {
          parseFilters(["name==ok", input]);
          expect(direct).toBeUndefined();
        } catch (error) {
          expect(error).toBeInstanceOf(FilterSyntaxError);
          expect((error as FilterSyntaxError).message).toBe((direct as FilterSyntaxError).message);
        }
      }),
      { numRuns: 500 },
    );
  });
});

// ---- Well-formed selectors parse to what was written and match as specified ----

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/** Quotes `text` as a Go-style literal with `quote`, escaping each character in a random legal way. */
function goQuote(text: string, quote: string, choices: readonly number[]): string {
  let out = quote;
  let i = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const choice = choices[i++ % Math.max(1, choices.length)] ?? 0;
    const must = ch === quote || ch === "\\" || ch === "\n" || ch === "\0";
    if (!must && choice % 4 === 0) out += ch;
    else if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n" && choice % 2 === 0) out += "\\n";
    else if (cp <= 0xff && choice % 4 === 1) out += `\\x${hex(cp, 2)}`;
    else if (cp <= 0xff && choice % 4 === 2) out += `\\${cp.toString(8).padStart(3, "0")}`;
    else if (cp <= 0xffff) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return out + quote;
}

const plainField = /^[A-Za-z0-9_]+$/;
const valueChar = /^(?:(?!,)[\p{L}\p{M}\p{N}\p{P}\p{S}])+$/u;
/** Text that may stand unquoted as a value after `operator`. */
function unquotable(text: string, operator: Operator): boolean {
  if (!valueChar.test(text) || '.,=!~"'.includes(text[0] ?? "")) return false;
  return operator !== "~=" || !"/|".includes(text[0] ?? "");
}
const escapeRegExp = (text: string) => text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");

interface Generated {
  selector: Selector;
  text: string;
  /** For ~=: the literal the regexp looks for, and whether it is anchored at the start. */
  literal?: { text: string; anchored: boolean };
}

const escapes = fc.array(fc.nat(7), { minLength: 1, maxLength: 8 });
const content = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: fc.constantFrom("a", "b", ".", ",", "/", "|", '"', "\\", " ", "=", "\n", "é"), maxLength: 12 }),
);
const space = fc.constantFrom("", "", " ", "\t", "  ");

const field = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_]{1,8}$/).map((name) => ({ name, text: name })),
  fc.tuple(content, escapes).map(([name, choices]) => ({ name, text: goQuote(name, '"', choices) })),
);

const selectorArb: fc.Arbitrary<Generated> = fc
  .record({
    path: fc.array(field, { minLength: 1, maxLength: 3 }),
    operator: fc.constantFrom<Operator | undefined>(undefined, "==", "!=", "~="),
    value: content,
    anchored: fc.boolean(),
    quote: fc.constantFrom("none", '"', "/", "|"),
    choices: escapes,
    gaps: fc.array(space, { minLength: 6, maxLength: 6 }),
  })
  .map(({ path, operator, value, anchored, quote, choices, gaps }) => {
    const [g0, g1, g2, g3] = gaps;
    const fieldpath = path.map((f) => f.name);
    const pathText = path.map((f) => f.text).join(`${g0}.${g1}`);
    if (operator === undefined) return { selector: { fieldpath }, text: `${g2}${pathText}${g3}` };

    const source = operator === "~=" ? (anchored ? "^" : "") + escapeRegExp(value) : value;
    const delimiter = operator === "~=" ? quote : quote === "none" ? "none" : '"';
    const valueText = delimiter === "none" && unquotable(source, operator) ? source : goQuote(source, delimiter === "none" ? '"' : delimiter, choices);
    return {
      selector: { fieldpath, operator, value: source },
      text: `${g2}${pathText}${g1}${operator}${g0}${valueText}${g3}`,
      ...(operator === "~=" ? { literal: { text: value, anchored } } : {}),
    };
  });

/** The specified meaning of one selector for the field value `v` (undefined = absent). */
function expected(g: Generated, v: string | undefined): boolean {
  const { operator, value } = g.selector;
  if (operator === undefined) return v !== undefined;
  if (operator === "==") return v === value;
  if (operator === "!=") return (v ?? "") !== value;
  const lit = g.literal?.text ?? "";
  return g.literal?.anchored ? (v ?? "").startsWith(lit) : (v ?? "").includes(lit);
}

const key = (path: FieldPath) => JSON.stringify(path);

describe("well-formed selectors", () => {
  it("parse to the selectors they were built from and match as specified", () => {
    fc.assert(
      fc.property(
        fc.array(selectorArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ kind: fc.constantFrom("absent", "same", "other", "empty"), pad: fc.string({ maxLength: 3 }) }), {
          minLength: 4,
          maxLength: 4,
        }),
        (generated, picks) => {
          const input = generated.map((g) => g.text).join(",");
          const filter = parseFilter(input);
          expect(filter.alternatives).toEqual([generated.map((g) => g.selector)]);

          // A record that, per selector, leaves the field absent, empty, equal/matching or different.
          const record = new Map<string, string>();
          generated.forEach((g, i) => {
            const pick = picks[i] ?? { kind: "absent", pad: "" };
            const k = key(g.selector.fieldpath);
            if (pick.kind === "absent") record.delete(k);
            else if (pick.kind === "empty") record.set(k, "");
            else if (pick.kind === "other") record.set(k, `${pick.pad}~${g.selector.value ?? ""}`);
            else if (g.literal) record.set(k, g.literal.anchored ? `${g.literal.text}${pick.pad}` : `${pick.pad}${g.literal.text}${pick.pad}`);
            else record.set(k, g.selector.value ?? pick.pad);
          });
          const adaptor: Adaptor = { field: (path) => record.get(key(path)) };
          const want = generated.every((g) => expected(g, record.get(key(g.selector.fieldpath))));
          expect(filter.match(adaptor)).toBe(want);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("OR over several strings matches when any string matches", () => {
    fc.assert(
      fc.property(fc.array(fc.array(selectorArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), (alternatives) => {
        const inputs = alternatives.map((all) => all.map((g) => g.text).join(","));
        const filter = parseFilters(inputs);
        // Every field holds the empty string: each selector's outcome is then known.
        const adaptor: Adaptor = { field: () => "" };
        const want = alternatives.some((all) => all.every((g) => expected(g, "")));
        expect(filter.alternatives).toHaveLength(alternatives.length);
        expect(filter.match(adaptor)).toBe(want);
      }),
      { numRuns: 500 },
    );
  });
});
