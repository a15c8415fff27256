import { type ParsedSelector, parseSelectors } from "./parser.js";
import { compileRegExp } from "./regexp.js";
import type { Adaptor, Filter, Selector } from "./types.js";

type Test = (adaptor: Adaptor) => boolean;

class CompiledFilter implements Filter {
  readonly alternatives: readonly (readonly Selector[])[];
  readonly #tests: readonly (readonly Test[])[];

  constructor(alternatives: readonly (readonly ParsedSelector[])[]) {
    this.alternatives = Object.freeze(alternatives.map((all) => Object.freeze(all.map((p) => p.selector))));
    this.#tests = alternatives.map((all) => all.map(compile));
  }

  match(adaptor: Adaptor): boolean {
    return this.#tests.some((all) => all.every((test) => test(adaptor)));
  }
}

function compile({ selector, regexp }: ParsedSelector): Test {
  const { fieldpath, operator, value = "" } = selector;
  switch (operator) {
    case undefined:
      return (adaptor) => adaptor.field(fieldpath) !== undefined;
    case "==":
      return (adaptor) => adaptor.field(fieldpath) === value;
    case "!=":
      // containerd compares the zero value of an absent field, so absent != "x" holds.
      return (adaptor) => (adaptor.field(fieldpath) ?? "") !== value;
    case "~=": {
      const pattern = regexp ?? compileRegExp(value);
      return (adaptor) => pattern.test(adaptor.field(fieldpath) ?? "");
    }
  }
}

/** The filter of an empty filter string or an empty list: one alternative with no selectors. */
export const matchAll: Filter = Object.freeze(new CompiledFilter([[]]));

/**
 * Parses one filter string in containerd's filter language (containerd 1.6 `filters.Parse`).
 * Throws `FilterSyntaxError`, and nothing else, for a malformed filter.
 *
 * Grammar; whitespace between tokens is skipped:
 *
 *     filter    := selector ("," selector)*          every selector must match (AND)
 *     selector  := fieldpath [operator value]        without an operator: the field is present
 *     fieldpath := field ("." field)*
 *     field     := [A-Za-z0-9_]+ | "quoted"
 *     operator  := "==" | "!=" | "~="
 *     value     := "quoted" | unquoted
 *                | /quoted/ | |quoted|               these two only after "~=", see below
 *     unquoted  := printable characters up to "," or whitespace, not starting with
 *                  . , = ! ~ " (nor / | after "~=", see below)
 *     quoted    := Go string literal syntax with that delimiter: \a \b \f \n \r \t \v \\ \ooo
 *                  \xhh \uhhhh \Uhhhhhhhh and a backslash before the delimiter; no raw newline
 *
 * So `name==docker.io/library/alpine:latest` is one value, and a dotted label key is quoted as
 * a field: `labels."containerd.io/gc.root"`. The empty string matches everything. "|" is not
 * an OR operator: pass several strings to `parseFilters` for OR.
 *
 * Matching, where v is what the adaptor returns for the field path (undefined = absent):
 *
 *     fieldpath          v !== undefined
 *     fieldpath==x       v !== undefined && v === x
 *     fieldpath!=x       (v ?? "") !== x        so an absent field matches any x but ""
 *     fieldpath~=re      re.test(v ?? "")       unanchored; compiled here, once
 *
 * How a path resolves is the adaptor's business; containerd's adaptors join the rest of a map
 * field's path with "." as the key (`labels.a.b` looks up label "a.b"), see `adaptObject`.
 *
 * Berth accepts some filters containerd 1.6 rejects; every filter containerd accepts keeps its
 * meaning:
 *  - After "~=", a value starting with "/" or "|" is a delimited regexp only when its closing
 *    delimiter ends the value (end of input, "," or whitespace follows). Otherwise the whole
 *    unquoted run, delimiters included, is the pattern: `topic~=/tasks/.+` is the regexp
 *    `/tasks/.+` (containerd fails on the ".+"), while `topic~=/tasks/` is still the regexp
 *    `tasks` and `topic~=|a,b|` the regexp `a,b`.
 *  - After "==" and "!=", a value starting with "/" or "|" is plain text, so
 *    `topic==/namespaces/delete` works; containerd takes the "/" for a quote and rejects it.
 *  - Whitespace may also stand before "," or "." and at the end, where containerd rejects it.
 *  - Regexps are JavaScript's RegExp (no flags) rather than Go's RE2; a leading RE2 flag group
 *    such as `(?i)` is translated. Go's \x and octal escapes yield U+0000–U+00FF, not bytes.
 *  - Error positions are string indices (UTF-16 code units), not byte offsets.
 */
export function parseFilter(input: string): Filter {
  return input === "" ? matchAll : new CompiledFilter([parseSelectors(input)]);
}

/**
 * Parses several filter strings into one filter that matches when any of them does (OR), like
 * containerd's `filters.ParseAll`. An empty list, or any empty string in it, matches everything.
 */
export function parseFilters(inputs: readonly string[]): Filter {
  if (inputs.length === 0) return matchAll;
  return new CompiledFilter(inputs.map((input) => (input === "" ? [] : parseSelectors(input))));
}
