// Generated files are committed; this keeps them free of the tool versions ts-proto stamps
// into their headers, so that `gen:check` only fails on a real difference.
import { readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (path.endsWith(".ts")) yield path;
  }
}

for (const file of walk(new URL("../src/gen", import.meta.url).pathname)) {
  const text = readFileSync(file, "utf8");
  const cleaned = text.replace(/^\/\/ +(protoc-gen-ts_proto|protoc) +v.*\n/gm, "");
  if (cleaned !== text) writeFileSync(file, cleaned);
}
