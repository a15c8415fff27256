import { afterEach, beforeEach, describe } from "vitest";
import { describeBlobs } from "./blobs.js";
import { type ContentStoreUnderTest, Harness } from "./harness.js";
import { describeIngests } from "./ingests.js";
import { describeLabelsAndLists } from "./labels-and-lists.js";

export type { ContentStoreUnderTest } from "./harness.js";

/**
 * The contract every ContentStore must keep, for the local store and for a namespaced one reached
 * over gRPC: it checks error kinds, never message text, and only what the interface shows (no
 * files). `create` is called before each test and must return an empty store for that test.
 */
export function describeContentStoreConformance(name: string, create: () => Promise<ContentStoreUnderTest>): void {
  describe(`content store conformance: ${name}`, () => {
    let subject: ContentStoreUnderTest | undefined;
    let current: Harness | undefined;
    beforeEach(async () => {
      subject = await create();
      current = new Harness(subject.store, subject.context);
    });
    afterEach(async () => {
      const [ending, harness] = [subject, current];
      subject = current = undefined;
      try {
        await harness?.cleanup();
      } finally {
        await ending?.close();
      }
    });
    const harness = (): Harness => {
      if (current === undefined) throw new Error("content store conformance: no store (did create() fail?)");
      return current;
    };

    describeBlobs(harness);
    describeIngests(harness);
    describeLabelsAndLists(harness);
  });
}
