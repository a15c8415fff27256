import { type Mount, invalidArgument } from "@berth/api";
import { diffV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";
import type { Differ } from "../diff.js";

const mountsOf = (mounts: readonly diffV1.ApplyRequest["mounts"][number][]): Mount[] =>
  mounts.map((m) => ({ type: m.type, source: m.source, target: m.target, options: m.options }));

export function diffHandlers(differ: Differ): ServiceHandlers<typeof diffV1.DiffDefinition> {
  return {
    apply: async ({ diff, mounts }, context) => {
      if (diff === undefined) throw invalidArgument("diff: must be set");
      const applied = await differ.apply(context, diff, mountsOf(mounts));
      return { applied: { ...applied, annotations: {} } };
    },
    diff: async ({ left, right, mediaType, ref, labels }, context) => {
      const created = await differ.diff(context, mountsOf(left), mountsOf(right), mediaType, ref, labels);
      return { diff: { ...created, annotations: {} } };
    },
  };
}
