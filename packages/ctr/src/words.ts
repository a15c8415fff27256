/** Every spelling of a command (`namespaces ls`, `ns list`, …) but its canonical id, as oclif aliases. */
export function aliases(topicNames: readonly string[], commandNames: readonly string[]): string[] {
  const all = topicNames.flatMap((topic) => commandNames.map((command) => `${topic}:${command}`));
  return all.slice(1);
}

/** `key=value` arguments as labels; a bare key means an empty value, as in ctr. */
export function parseLabels(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals === -1) labels[pair] = "";
    else labels[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return labels;
}
