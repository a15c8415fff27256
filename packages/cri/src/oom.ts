import { events } from "@berth/api/proto";
import type { CriContext } from "./context.js";

/**
 * Follows `/tasks/oom` in namespace k8s.io: a container the kernel's OOM killer hit exits with
 * reason `OOMKilled`, as containerd reports it. Stops when `signal` aborts.
 */
export function watchOom(context: CriContext, signal: AbortSignal): void {
  const stream = context.client.events.subscribe(['topic=="/tasks/oom"', 'namespace=="k8s.io"'], signal);
  void (async () => {
    try {
      for await (const envelope of stream) {
        if (envelope.event === undefined) continue;
        const { containerId } = events.TaskOOM.decode(envelope.event.value);
        const record = context.containers.find(containerId);
        if (record !== undefined) record.status.reason = "OOMKilled";
      }
    } catch {
      // the daemon is closing
    }
  })();
}
