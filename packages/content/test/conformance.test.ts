import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalContentStore } from "@berth/content";
import { describeContentStoreConformance } from "@berth/content/testsuite";

describeContentStoreConformance("LocalContentStore", async () => {
  const root = mkdtempSync(join(tmpdir(), "berth-test-content-"));
  return {
    store: new LocalContentStore(root),
    context: {},
    close: async () => rmSync(root, { recursive: true, force: true }),
  };
});

describeContentStoreConformance("LocalContentStore, opened, with a namespace it ignores", async () => {
  const root = mkdtempSync(join(tmpdir(), "berth-test-content-"));
  return {
    store: await LocalContentStore.open(root),
    context: { namespace: "conformance" },
    close: async () => rmSync(root, { recursive: true, force: true }),
  };
});
