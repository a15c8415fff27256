// RE2's leading flag group, e.g. "(?i)abc": common in containerd filters but not JavaScript
// syntax. Over the whole pattern it means what JavaScript's flags mean (i, m, s alike); the scoped
// form "(?i:abc)" would too, but Node 22's V8 predates it.
const leadingFlags = /^\(\?([ims]+)\)/;

/**
 * Compiles a "~=" operand. containerd uses Go's RE2; Berth uses JavaScript's RegExp without flags
 * (unanchored, like RE2's MatchString), translating only a leading "(?flags)" group. Throws the
 * RegExp constructor's SyntaxError for an invalid pattern.
 */
export function compileRegExp(source: string): RegExp {
  const flags = leadingFlags.exec(source);
  if (flags === null) return new RegExp(source);
  return new RegExp(source.slice(flags[0].length), flags[1]);
}
