import { versionV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";

export function versionHandlers(version: string, revision: string): ServiceHandlers<typeof versionV1.VersionDefinition> {
  return { version: async () => ({ version, revision }) };
}
