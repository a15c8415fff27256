import { type Exit, type ProcessState, type TaskStatus, invalidArgument } from "@berth/api";
import { taskTypes, type tasksV1 } from "@berth/api/proto";
import type { ServiceHandlers } from "@berth/api/services";
import type { TaskCheckpoints } from "../task-checkpoint.js";
import type { TaskService } from "../tasks.js";

const statusOnWire: Record<TaskStatus, taskTypes.Status> = {
  unknown: taskTypes.Status.UNKNOWN,
  created: taskTypes.Status.CREATED,
  running: taskTypes.Status.RUNNING,
  stopped: taskTypes.Status.STOPPED,
  paused: taskTypes.Status.PAUSED,
  pausing: taskTypes.Status.PAUSING,
};

function processMessage(state: ProcessState): taskTypes.Process {
  return {
    // containerd 1.6 leaves container_id empty; ctr reads id.
    containerId: "",
    id: state.id,
    pid: state.pid,
    status: statusOnWire[state.status],
    stdin: state.stdin,
    stdout: state.stdout,
    stderr: state.stderr,
    terminal: state.terminal,
    exitStatus: state.exitStatus,
    exitedAt: state.exitedAt,
  };
}

const deleteResponse = (id: string, exit: Exit): tasksV1.DeleteResponse => ({ id, pid: exit.pid, exitStatus: exit.status, exitedAt: exit.timestamp });

const ioOf = (request: { stdin: string; stdout: string; stderr: string; terminal: boolean }) => ({
  stdin: request.stdin,
  stdout: request.stdout,
  stderr: request.stderr,
  terminal: request.terminal,
});

/** containerd.services.tasks.v1.Tasks over the daemon's TaskService. */
export function tasksHandlers(tasks: TaskService, checkpoints: TaskCheckpoints): ServiceHandlers<typeof tasksV1.TasksDefinition> {
  return {
    create: async (request, context) => {
      if (request.containerId === "") throw invalidArgument("container_id: must be set");
      const rootfs = request.rootfs.map((mount) => ({ type: mount.type, source: mount.source, target: mount.target, options: mount.options }));
      return checkpoints.withRestorePath(context, request, (checkpoint) =>
        tasks.create(context, {
          containerId: request.containerId,
          rootfs,
          io: ioOf(request),
          options: request.options,
          runtimePath: request.runtimePath,
          checkpoint,
        }),
      );
    },
    start: async ({ containerId, execId }, context) => {
      const process = await tasks.process(context, containerId, execId);
      await process.start(context);
      return { pid: (await process.state(context)).pid };
    },
    delete: async ({ containerId }, context) => {
      const exit = await tasks.delete(context, containerId);
      await checkpoints.release(context, containerId);
      return deleteResponse(containerId, exit);
    },
    deleteProcess: async ({ containerId, execId }, context) => {
      if (execId === "") throw invalidArgument("exec_id: must be set");
      const task = await tasks.task(context, containerId);
      return deleteResponse(execId, await (await task.process(context, execId)).delete(context));
    },
    get: async ({ containerId, execId }, context) => {
      const process = await tasks.process(context, containerId, execId);
      return { process: processMessage(await tasks.state(context, process)) };
    },
    list: async (_request, context) => ({ tasks: (await tasks.list(context)).map(processMessage) }),
    kill: async ({ containerId, execId, signal, all }, context) => {
      await (await tasks.process(context, containerId, execId)).kill(context, signal, all);
      return {};
    },
    exec: async (request, context) => {
      await tasks.exec(context, request.containerId, request.execId, request.spec, ioOf(request));
      return {};
    },
    resizePty: async ({ containerId, execId, width, height }, context) => {
      await (await tasks.process(context, containerId, execId)).resizePty(context, { width, height });
      return {};
    },
    closeIO: async ({ containerId, execId, stdin }, context) => {
      const process = await tasks.process(context, containerId, execId);
      if (stdin) await process.closeIO(context);
      return {};
    },
    pause: async ({ containerId }, context) => {
      await (await tasks.task(context, containerId)).pause(context);
      return {};
    },
    resume: async ({ containerId }, context) => {
      await (await tasks.task(context, containerId)).resume(context);
      return {};
    },
    listPids: async ({ containerId }, context) => {
      const processes = await (await tasks.task(context, containerId)).pids(context);
      return { processes: processes.map((process) => ({ pid: process.pid, info: process.info })) };
    },
    checkpoint: async ({ containerId, options }, context) => ({ descriptors: await checkpoints.checkpoint(context, containerId, options) }),
    update: async ({ containerId, resources, annotations }, context) => {
      await (await tasks.task(context, containerId)).update(context, resources, annotations);
      return {};
    },
    metrics: async ({ filters }, context) => ({ metrics: await tasks.metrics(context, filters) }),
    wait: async ({ containerId, execId }, context) => {
      const exit = await (await tasks.process(context, containerId, execId)).wait(context);
      return { exitStatus: exit.status, exitedAt: exit.timestamp };
    },
  };
}
