/** The runtime conformance suite, which lives in @berth/runtime, where runtime-linux's tests have always found it. */
export type { RuntimeFixture } from "@berth/runtime/testsuite";
export { describeRuntimeConformance } from "@berth/runtime/testsuite";
