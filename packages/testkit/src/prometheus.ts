/** One sample of a Prometheus text exposition. */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text format (0.0.4) into samples; comments and blank lines are skipped. */
export function parsePromText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = brace < 0 ? line.indexOf(" ") : line.indexOf(" ", line.lastIndexOf("}"));
    const name = line.slice(0, brace < 0 ? space : brace);
    const labels: Record<string, string> = {};
    if (brace >= 0) {
      for (const match of line.slice(brace, line.lastIndexOf("}") + 1).matchAll(labelPattern)) {
        labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      }
    }
    const raw = line
      .slice(space + 1)
      .trim()
      .split(" ")[0]!;
    samples.push({ name, labels, value: raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw) });
  }
  return samples;
}

/** GETs `url` and parses it; throws unless the answer is 200. */
export async function scrapeProm(url: string): Promise<{ text: string; samples: PromSample[]; contentType: string | null }> {
  const response = await fetch(url);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${text}`);
  return { text, samples: parsePromText(text), contentType: response.headers.get("content-type") };
}

/** The samples of `name` whose labels include all of `labels`. */
export function promSamples(samples: readonly PromSample[], name: string, labels: Readonly<Record<string, string>> = {}): PromSample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}
