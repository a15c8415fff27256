import type { Scanner } from "./scanner.js";

const hexDigits = /^[0-9A-Fa-f]+$/;
const octalDigits = /^[0-7]{3}$/;

/**
 * Decodes the quoted literal `input[start, end)` (delimiters included) the way containerd's
 * quote.go does, which is Go's strconv.Unquote extended to `/` and `|` delimiters: escapes are
 * \a \b \f \n \r \t \v \\, \ooo (at most \377), \xhh, \uhhhh, \Uhhhhhhhh, and a backslash before
 * the literal's own delimiter (only that one). Go's \x and octal escapes produce a byte; a
 * JavaScript string has no bytes, so they produce the code point U+0000–U+00FF instead.
 */
export function unquote(scanner: Scanner, start: number, end: number): string {
  const input = scanner.input;
  const quote = input[start] ?? "";
  const last = end - 1; // offset of the closing delimiter
  let out = "";
  let chunk = start + 1; // start of the text not yet copied to `out`
  let i = chunk;
  while (i < last) {
    if (input[i] !== "\\") {
      i++;
      continue;
    }
    out += input.slice(chunk, i);
    const at = i;
    const letter = input[i + 1] ?? "";
    i += 2;
    const fixed = simpleEscape(letter, quote);
    if (fixed !== undefined) {
      out += fixed;
    } else if (letter === "x" || letter === "u" || letter === "U") {
      const width = letter === "x" ? 2 : letter === "u" ? 4 : 8;
      const digits = input.slice(i, Math.min(i + width, last));
      if (digits.length !== width || !hexDigits.test(digits)) badEscape(scanner, at, quote);
      const value = Number.parseInt(digits, 16);
      i += width;
      if (letter === "x") out += String.fromCharCode(value);
      else if (value > 0x10ffff) badEscape(scanner, at, quote, "code point out of range");
      // Go encodes a surrogate code point as U+FFFD rather than failing.
      else out += value >= 0xd800 && value <= 0xdfff ? "\ufffd" : String.fromCodePoint(value);
    } else if (letter >= "0" && letter <= "7") {
      const digits = input.slice(i - 1, Math.min(i + 2, last));
      const value = Number.parseInt(digits, 8);
      if (!octalDigits.test(digits) || value > 0o377) badEscape(scanner, at, quote);
      i += 2;
      out += String.fromCharCode(value);
    } else {
      badEscape(scanner, at, quote);
    }
    chunk = i;
  }
  return out + input.slice(chunk, last);
}

function simpleEscape(letter: string, quote: string): string | undefined {
  switch (letter) {
    case "a":
      return "\x07";
    case "b":
      return "\b";
    case "f":
      return "\f";
    case "n":
      return "\n";
    case "r":
      return "\r";
    case "t":
      return "\t";
    case "v":
      return "\v";
    case "\\":
      return "\\";
    case quote:
      return quote;
    default:
      return undefined;
  }
}

function badEscape(scanner: Scanner, at: number, quote: string, why = ""): never {
  const input = scanner.input;
  const text = input.slice(at, at + 2);
  const reason = why === "" ? "" : ` (${why})`;
  // Regexp escapes such as \d are the usual surprise inside /.../ and |...|.
  const hint = quote === '"' ? "" : `; escapes follow Go string rules, so write \\\\ for a regexp backslash, or leave the regexp unquoted`;
  return scanner.fail(at, "escape sequence", `invalid escape ${JSON.stringify(text)}${reason}${hint}`);
}
