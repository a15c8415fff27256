// RE2's leading flag group, e.g. "(?i)abc": common in containerd filters but not JavaScript
// syntax. JavaScript has the scoped form "(?i:abc)", which means the same over the whole pattern.
const leadingFlags = /^\(\?([ims]+)\)/;

/**
 * Compiles a "~=" operand. containerd uses Go's RE2; Berth uses JavaScript's RegExp without flags
 * (unanchored, like RE2's MatchString), translating only a leading "(?flags)" group. Throws the
 * RegExp constructor's SyntaxError for an invalid pattern.
 */
export function compileRegExp(source: string): RegExp {
  const flags = leadingFlags.exec(source);
  if (flags === null) return new RegExp(source);
  const rest = source.slice(flags[0].length);
  // Checked alone first so that wrapping cannot balance a stray ")" as in "(?i)a)(b".
  new RegExp(rest);
  return new RegExp(`(?${flags[1] ?? ""}:${rest})`);
}
