import { FilterSyntaxError } from "./errors.js";

// Character classes follow containerd's scanner, which uses Go's unicode package:
// unicode.IsSpace is the White_Space property (so NEL and NBSP count, U+FEFF does not).
const spacePattern = /\p{White_Space}*/uy;
const spaceChar = /^\p{White_Space}$/u;
const fieldPattern = /[A-Za-z0-9_]+/y;
const operatorPattern = /[=!~]+/y;
// After its first character an unquoted value continues over unicode.IsGraphic characters
// (L, M, N, P, S, Zs) and stops at ',' or whitespace; every Zs character is whitespace.
const valueRestPattern = /(?:(?!,)[\p{L}\p{M}\p{N}\p{P}\p{S}])*/uy;
// containerd rejects NUL and invalid UTF-8; an unpaired surrogate is JavaScript's invalid UTF-8.
const invalidChar = /[\0\p{Cs}]/u;

export const isSpace = (ch: string): boolean => spaceChar.test(ch);

/** A character for an error message: quoted, with control characters escaped. */
export function describe(ch: string): string {
  return ch === "" ? "end of input" : JSON.stringify(ch);
}

/** A cursor over one filter string; the parser decides which kind of token comes next. */
export class Scanner {
  pos = 0;

  constructor(readonly input: string) {
    const bad = invalidChar.exec(input);
    if (bad !== null) {
      const what = bad[0] === "\0" ? "NUL character" : "unpaired surrogate";
      this.fail(bad.index, "valid character", `${what} is not allowed`);
    }
  }

  get atEnd(): boolean {
    return this.pos >= this.input.length;
  }

  /** The code point at the cursor as a string, or "" at the end. */
  peek(at = this.pos): string {
    const cp = this.input.codePointAt(at);
    return cp === undefined ? "" : String.fromCodePoint(cp);
  }

  /** True when `at` is the end of input, a ',' or whitespace: where a value may end. */
  isValueEnd(at: number): boolean {
    const ch = this.peek(at);
    return ch === "" || ch === "," || isSpace(ch);
  }

  skipSpace(): void {
    this.run(spacePattern);
  }

  fieldRun(): string {
    return this.run(fieldPattern);
  }

  operatorRun(): string {
    return this.run(operatorPattern);
  }

  /**
   * An unquoted value: the first character is taken as is (containerd only checks it is not a
   * token of its own, which the caller has done), the rest must be graphic, up to ',' or whitespace.
   */
  valueRun(): string {
    const start = this.pos;
    this.pos += this.peek().length;
    this.run(valueRestPattern);
    return this.input.slice(start, this.pos);
  }

  /**
   * Finds the end of the quoted literal whose opening delimiter is at `start` and returns the
   * offset just past its closing delimiter, without moving the cursor. Escapes are only skipped
   * here; `unquote` validates them. Like Go string literals, a literal may not span a newline.
   */
  quotedEnd(start: number): number {
    const input = this.input;
    const quote = input[start] ?? "";
    let i = start + 1;
    for (;;) {
      const ch = input[i];
      if (ch === undefined || ch === "\n") {
        const why = ch === undefined ? "" : " (write a newline as \\n)";
        this.fail(i, `closing '${quote}'`, `quoted literal starting at position ${start} is not terminated${why}`);
      }
      if (ch === quote) return i + 1;
      i += ch === "\\" && input[i + 1] !== undefined && input[i + 1] !== "\n" ? 2 : 1;
    }
  }

  fail(position: number, expected: string, detail = ""): never {
    throw new FilterSyntaxError(this.input, position, expected, detail);
  }

  private run(pattern: RegExp): string {
    pattern.lastIndex = this.pos;
    const match = pattern.exec(this.input);
    if (match === null) return "";
    this.pos = pattern.lastIndex;
    return match[0];
  }
}
