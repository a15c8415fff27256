import { afterEach, beforeEach, describe } from "vitest";
import { describeErrors } from "./errors.js";
import { describeFilesystems } from "./filesystem.js";
import { Harness, type SnapshotterUnderTest } from "./harness.js";
import { describeMetadata } from "./metadata.js";
import { describePristineMarks } from "./pristine.js";

export type { MountRunner, SnapshotterUnderTest, Tree } from "./harness.js";
export { readTree, writeFiles } from "./harness.js";

/**
 * The contract every Snapshotter must keep (packages/api/src/snapshots.ts), after containerd's
 * snapshotter testsuite, for a backend and for a namespaced one reached over gRPC: it goes only
 * through the interface, really mounts what prepare, view and mounts return (so it must run
 * where those mounts can be made, as root), and checks error kinds, never message text.
 * `create` is called before each test; the snapshots each test made are removed after it,
 * children first, before `close`.
 */
export function describeSnapshotterConformance(name: string, create: () => Promise<SnapshotterUnderTest>): void {
  describe(`snapshotter conformance: ${name}`, () => {
    let subject: SnapshotterUnderTest | undefined;
    let current: Harness | undefined;
    beforeEach(async () => {
      subject = await create();
      current = new Harness(subject.snapshotter, subject.context, subject.root, subject.usageIncludesParents, subject.withMounts);
    });
    afterEach(async () => {
      const [ending, harness] = [subject, current];
      subject = current = undefined;
      try {
        await harness?.removeAll();
      } finally {
        await ending?.close();
      }
    });
    const harness = (): Harness => {
      if (current === undefined) throw new Error("snapshotter conformance: no snapshotter (did create() fail?)");
      return current;
    };

    describeFilesystems(harness);
    describeErrors(harness);
    describeMetadata(harness);
    describePristineMarks(harness);
  });
}
