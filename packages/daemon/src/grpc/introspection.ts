import { type Snapshotter, pristineMarksCapability } from "@berth/api";
import { adaptObject, parseFilters } from "@berth/filters";
import { introspectionV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";
import type { PluginOutcome } from "@berth/plugin";
import { pluginTypes } from "../plugins/types.js";

export interface ServerIdentity {
  readonly uuid: string;
  readonly pid: number;
  readonly pidns: number;
}

/** containerd reports plugin init errors with gRPC code Unknown. */
const unknownCode = 2;

/** What a plugin can do beyond its type's contract: a snapshotter that marks writes shares snapshots across namespaces. */
function capabilitiesOf({ plugin, instance }: PluginOutcome): string[] {
  const marks = plugin.type === pluginTypes.snapshotter && typeof (instance as Snapshotter | undefined)?.pristineMark === "function";
  return marks ? [pristineMarksCapability] : [];
}

function describePlugin(outcome: PluginOutcome): introspectionV1.Plugin {
  const { plugin } = outcome;
  return {
    type: plugin.type,
    id: plugin.id,
    requires: [...(plugin.requires ?? [])],
    platforms: (plugin.platforms ?? []).map((p) => ({ os: p.os, architecture: p.architecture, variant: p.variant ?? "" })),
    exports: { ...outcome.exports },
    capabilities: capabilitiesOf(outcome),
    initErr: outcome.error === undefined ? undefined : { code: unknownCode, message: outcome.error.message, details: [] },
  };
}

export function introspectionHandlers(
  plugins: () => readonly PluginOutcome[],
  identity: ServerIdentity,
): ServiceHandlers<typeof introspectionV1.IntrospectionDefinition> {
  return {
    plugins: async ({ filters }) => {
      const filter = parseFilters(filters);
      return {
        plugins: plugins()
          .filter(({ plugin }) => filter.match(adaptObject({ type: plugin.type, id: plugin.id })))
          .map(describePlugin),
      };
    },
    server: async () => ({ uuid: identity.uuid, pid: identity.pid, pidns: identity.pidns }),
  };
}
