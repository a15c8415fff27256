import type { Transferrer } from "@berth/api";
import type { transferV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";

/** containerd's Transfer service over the daemon's transferrer. */
export function transferHandlers(transferrer: Transferrer): ServiceHandlers<typeof transferV1.TransferDefinition> {
  return {
    transfer: async (request, context) => {
      await transferrer.transfer(context, request);
      return {};
    },
  };
}
