/** How much of the input to show on each side of the error marker; filters come from users and may be long. */
const contextWidth = 60;

/**
 * The one error parsing throws. `position` is a 0-based offset into `input` (UTF-16 code units,
 * i.e. a JavaScript string index); `expected` is a short noun phrase such as "field", "operator",
 * "value" or "end of selector".
 */
export class FilterSyntaxError extends Error {
  override readonly name = "FilterSyntaxError";
  /** Berth's error kind; the daemon maps it to gRPC INVALID_ARGUMENT, as containerd's ParseAll does. */
  readonly kind = "InvalidArgument" as const;

  constructor(
    readonly input: string,
    readonly position: number,
    readonly expected: string,
    /** What was found instead, or why it is wrong; may be empty. */
    readonly detail = "",
  ) {
    super(formatMessage(input, position, expected, detail));
  }
}

// Mirrors containerd's "filters: parse error: [...]" shape, with a >|< marker at the error position.
function formatMessage(input: string, position: number, expected: string, detail: string): string {
  const start = Math.max(0, position - contextWidth);
  const end = Math.min(input.length, position + contextWidth);
  const before = (start > 0 ? "…" : "") + printable(input.slice(start, position));
  const after = printable(input.slice(position, end)) + (end < input.length ? "…" : "");
  const tail = detail === "" ? "" : `: ${detail}`;
  return `filters: parse error: [${before}>|<${after}] expected ${expected} at position ${position}${tail}`;
}

// Keeps the message on one line and free of raw control characters.
function printable(text: string): string {
  return text.replace(/[\0-\x1f\x7f]|\p{Cs}/gu, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
