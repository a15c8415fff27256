/** Every spelling of a command (`namespaces ls`, `ns list`, …) but its id, as oclif aliases: the id is the first pair, so name the primary topic and command (stock ctr's first name) first. */
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

/** go-digest's Parse as ctr uses it: `algorithm:encoded`, else ctr's "invalid checksum digest format". */
export function parseDigest(text: string | undefined): string {
  if (text === undefined || !/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(text)) throw new Error("invalid checksum digest format");
  return text;
}
