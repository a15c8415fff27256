import { compileRegExp } from "./regexp.js";
import { Scanner, describe } from "./scanner.js";
import type { Operator, Selector } from "./types.js";
import { unquote } from "./unquote.js";

/** A selector plus its compiled "~=" pattern, so that matching never compiles. */
export interface ParsedSelector {
  readonly selector: Selector;
  readonly regexp?: RegExp;
}

/**
 * Parses one non-empty filter string into its selectors (see `parseFilter` for the grammar).
 * Throws FilterSyntaxError, and nothing else.
 */
export function parseSelectors(input: string): ParsedSelector[] {
  const scanner = new Scanner(input);
  const selectors = [selector(scanner)];
  for (;;) {
    scanner.skipSpace();
    if (scanner.atEnd) return selectors;
    const ch = scanner.peek();
    if (ch !== ",") scanner.fail(scanner.pos, "end of selector", `unexpected ${describe(ch)}; selectors are joined with ","`);
    scanner.pos++;
    selectors.push(selector(scanner));
  }
}

function selector(scanner: Scanner): ParsedSelector {
  const fieldpath = Object.freeze(fieldPath(scanner));
  scanner.skipSpace();
  if (scanner.atEnd || scanner.peek() === ",") return { selector: Object.freeze({ fieldpath }) };

  const operator = parseOperator(scanner);
  scanner.skipSpace();
  const valueStart = scanner.pos;
  const value = parseValue(scanner, operator);
  const parsed = Object.freeze({ fieldpath, operator, value });
  if (operator !== "~=") return { selector: parsed };
  try {
    return { selector: parsed, regexp: compileRegExp(value) };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return scanner.fail(valueStart, "value", why);
  }
}

function fieldPath(scanner: Scanner): string[] {
  const path = [field(scanner)];
  for (;;) {
    scanner.skipSpace();
    if (scanner.peek() !== ".") return path;
    scanner.pos++;
    path.push(field(scanner));
  }
}

function field(scanner: Scanner): string {
  scanner.skipSpace();
  const ch = scanner.peek();
  if (ch === '"') return quoted(scanner);
  const name = scanner.fieldRun();
  if (name !== "") return name;
  const detail =
    ch === "/" || ch === "|" ? `a field may only be quoted with "...", not ${ch}...${ch}` : `unexpected ${describe(ch)}; a field is [A-Za-z0-9_]+ or "quoted"`;
  return scanner.fail(scanner.pos, "field", detail);
}

function parseOperator(scanner: Scanner): Operator {
  const start = scanner.pos;
  // Like containerd, take the whole run of = ! ~ so that "===" is one bad operator, not "==" and "=".
  const text = scanner.operatorRun();
  if (text === "==" || text === "!=" || text === "~=") return text;
  const found = text === "" ? `unexpected ${describe(scanner.peek())}` : `unsupported operator ${JSON.stringify(text)}`;
  return scanner.fail(start, "operator", `${found}; use "==", "!=" or "~=" (or "," to test presence)`);
}

function parseValue(scanner: Scanner, operator: Operator): string {
  const start = scanner.pos;
  const ch = scanner.peek();
  if (ch === "") return scanner.fail(start, "value", "unexpected end of input");
  if (ch === '"') return quoted(scanner);
  if (ch === "/" || ch === "|") {
    if (operator === "~=") {
      const end = scanner.quotedEnd(start);
      // A delimited regexp must end the value; otherwise the delimiters belong to the pattern
      // (Berth's extension, for "topic~=/tasks/.+").
      if (scanner.isValueEnd(end)) {
        scanner.pos = end;
        return unquote(scanner, start, end);
      }
    }
    // Berth reads it as plain text; containerd rejects "/" and "|" after "==" and "!=".
    return scanner.valueRun();
  }
  if (".,=!~".includes(ch)) {
    const detail = ch === "," ? `unexpected ","` : `a value cannot start with ${describe(ch)}; quote it with "..."`;
    return scanner.fail(start, "value", detail);
  }
  return scanner.valueRun();
}

function quoted(scanner: Scanner): string {
  const start = scanner.pos;
  const end = scanner.quotedEnd(start);
  const text = unquote(scanner, start, end);
  scanner.pos = end;
  return text;
}
