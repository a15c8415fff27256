// Loaded with `node --import`: writes every module URL the process loaded to $BERTH_RECORD_LOADS on exit.
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const loaded = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
process.on("exit", () => writeFileSync(process.env.BERTH_RECORD_LOADS, `${loaded.join("\n")}\n`));
