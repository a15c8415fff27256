import { describe, expect, it } from "vitest";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { knownTypes } from "@berth/api/known-types";
import {
  cgroupsV1,
  cgroupsV2,
  containersV1,
  contentV1,
  diffV1,
  events,
  eventsTtrpcV1,
  imagesV1,
  introspectionV1,
  leasesV1,
  runcV1,
  runtimeoptionsV1,
  sandboxV1,
  snapshotsV1,
  streamingV1,
  taskTypes,
  taskV2,
  tasksV1,
  transferV1,
  ttrpc,
  types,
} from "@berth/api/proto";

/** Any generated message type, seen only through fromPartial and encode. */
interface Codec {
  encode(message: never, writer?: BinaryWriter): BinaryWriter;
  fromPartial(object: never): unknown;
}

/** The varint bytes of the key of field `field` with wire type `wireType`. */
function keyBytes(field: number, wireType: WireType): number[] {
  return Array.from(new BinaryWriter().tag(field, wireType).finish());
}

/** Field number and wire type of every top-level field in an encoded message, in order. */
function fieldsOf(bytes: Uint8Array): Array<[number, WireType]> {
  const reader = new BinaryReader(bytes);
  const found: Array<[number, WireType]> = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    found.push([field, wireType]);
    reader.skip(wireType, field);
  }
  return found;
}

function encodePartial(codec: Codec, partial: unknown): Uint8Array {
  return codec.encode(codec.fromPartial(partial as never) as never).finish();
}

const { Varint, LengthDelimited } = WireType;

// [label, codec, message with exactly one field set, expected field number, expected wire type]
const singleFieldCases: Array<[string, Codec, unknown, number, WireType]> = [
  ["tasks.v1 CreateTaskRequest.rootfs", tasksV1.CreateTaskRequest, { rootfs: [{ type: "bind" }] }, 3, LengthDelimited],
  ["tasks.v1 CreateTaskRequest.stdin", tasksV1.CreateTaskRequest, { stdin: "/fifo/in" }, 4, LengthDelimited],
  ["tasks.v1 CreateTaskRequest.terminal", tasksV1.CreateTaskRequest, { terminal: true }, 7, Varint],
  ["tasks.v1 CreateTaskRequest.runtime_path", tasksV1.CreateTaskRequest, { runtimePath: "/x" }, 10, LengthDelimited],
  ["tasks.v1 ExecProcessRequest.terminal", tasksV1.ExecProcessRequest, { terminal: true }, 5, Varint],
  ["tasks.v1 ExecProcessRequest.exec_id", tasksV1.ExecProcessRequest, { execId: "e1" }, 7, LengthDelimited],
  ["tasks.v1 KillRequest.all", tasksV1.KillRequest, { all: true }, 4, Varint],
  ["tasks.v1 DeleteResponse.exited_at", tasksV1.DeleteResponse, { exitedAt: { seconds: 1, nanos: 0 } }, 4, LengthDelimited],
  ["tasks.v1 WaitResponse.exit_status", tasksV1.WaitResponse, { exitStatus: 137 }, 1, Varint],
  ["tasks.v1 UpdateTaskRequest.annotations", tasksV1.UpdateTaskRequest, { annotations: { a: "b" } }, 3, LengthDelimited],
  ["diff.v1 DiffResponse.diff", diffV1.DiffResponse, { diff: { digest: "sha256:00" } }, 3, LengthDelimited],
  ["diff.v1 ApplyRequest.payloads", diffV1.ApplyRequest, { payloads: { k: { typeUrl: "x", value: Buffer.alloc(0) } } }, 3, LengthDelimited],
  ["diff.v1 DiffRequest.labels", diffV1.DiffRequest, { labels: { a: "b" } }, 5, LengthDelimited],
  ["images.v1 Image.target", imagesV1.Image, { target: { size: 1 } }, 3, LengthDelimited],
  ["images.v1 Image.created_at", imagesV1.Image, { createdAt: { seconds: 1, nanos: 0 } }, 7, LengthDelimited],
  ["images.v1 Image.updated_at", imagesV1.Image, { updatedAt: { seconds: 1, nanos: 0 } }, 8, LengthDelimited],
  ["images.v1 DeleteImageRequest.sync", imagesV1.DeleteImageRequest, { sync: true }, 2, Varint],
  ["images.v1 ImageUpdate.labels", imagesV1.ImageUpdate, { labels: { a: "b" } }, 2, LengthDelimited],
  ["types Descriptor.annotations", types.Descriptor, { annotations: { a: "b" } }, 5, LengthDelimited],
  ["types Descriptor.size", types.Descriptor, { size: 5 }, 3, Varint],
  ["containers.v1 Container.runtime", containersV1.Container, { runtime: { name: "io.containerd.runc.v2" } }, 4, LengthDelimited],
  ["containers.v1 Container.snapshot_key", containersV1.Container, { snapshotKey: "k" }, 7, LengthDelimited],
  ["containers.v1 Container.extensions", containersV1.Container, { extensions: { e: { typeUrl: "x", value: Buffer.alloc(0) } } }, 10, LengthDelimited],
  ["containers.v1 Container.sandbox", containersV1.Container, { sandbox: "s" }, 11, LengthDelimited],
  ["containers.v1 UpdateContainerRequest.update_mask", containersV1.UpdateContainerRequest, { updateMask: ["labels"] }, 2, LengthDelimited],
  ["snapshots.v1 CommitSnapshotRequest.labels", snapshotsV1.CommitSnapshotRequest, { labels: { a: "b" } }, 4, LengthDelimited],
  ["snapshots.v1 CommitSnapshotRequest.key", snapshotsV1.CommitSnapshotRequest, { key: "k" }, 3, LengthDelimited],
  ["snapshots.v1 Info.kind", snapshotsV1.Info, { kind: snapshotsV1.Kind.COMMITTED }, 3, Varint],
  ["snapshots.v1 UpdateSnapshotRequest.update_mask", snapshotsV1.UpdateSnapshotRequest, { updateMask: ["labels"] }, 3, LengthDelimited],
  ["snapshots.v1 ListSnapshotsRequest.filters", snapshotsV1.ListSnapshotsRequest, { filters: ["kind==active"] }, 2, LengthDelimited],
  ["content.v1 WriteContentRequest.labels", contentV1.WriteContentRequest, { labels: { a: "b" } }, 7, LengthDelimited],
  ["content.v1 WriteContentRequest.action", contentV1.WriteContentRequest, { action: contentV1.WriteAction.COMMIT }, 1, Varint],
  ["content.v1 WriteContentRequest.data", contentV1.WriteContentRequest, { data: Buffer.from("x") }, 6, LengthDelimited],
  ["content.v1 WriteContentResponse.digest", contentV1.WriteContentResponse, { digest: "sha256:00" }, 6, LengthDelimited],
  ["content.v1 Status.expected", contentV1.Status, { expected: "sha256:00" }, 6, LengthDelimited],
  ["content.v1 ReadContentRequest.size", contentV1.ReadContentRequest, { size: 10 }, 3, Varint],
  ["leases.v1 CreateRequest.labels", leasesV1.CreateRequest, { labels: { a: "b" } }, 3, LengthDelimited],
  ["leases.v1 Lease.labels", leasesV1.Lease, { labels: { a: "b" } }, 3, LengthDelimited],
  ["leases.v1 AddResourceRequest.resource", leasesV1.AddResourceRequest, { resource: { id: "x" } }, 2, LengthDelimited],
  ["introspection.v1 Plugin.init_err", introspectionV1.Plugin, { initErr: { code: 2 } }, 7, LengthDelimited],
  ["introspection.v1 ServerResponse.pidns", introspectionV1.ServerResponse, { pidns: 4026531836 }, 3, Varint],
  ["task.v2 CreateTaskRequest.terminal", taskV2.CreateTaskRequest, { terminal: true }, 4, Varint],
  ["task.v2 CreateTaskRequest.stdin", taskV2.CreateTaskRequest, { stdin: "/fifo/in" }, 5, LengthDelimited],
  ["task.v2 CreateTaskRequest.options", taskV2.CreateTaskRequest, { options: { typeUrl: "x", value: Buffer.alloc(0) } }, 10, LengthDelimited],
  ["task.v2 ExecProcessRequest.terminal", taskV2.ExecProcessRequest, { terminal: true }, 3, Varint],
  ["task.v2 ExecProcessRequest.spec", taskV2.ExecProcessRequest, { spec: { typeUrl: "x", value: Buffer.alloc(0) } }, 7, LengthDelimited],
  ["task.v2 StateResponse.exec_id", taskV2.StateResponse, { execId: "e" }, 11, LengthDelimited],
  ["task.v2 DeleteResponse.exited_at", taskV2.DeleteResponse, { exitedAt: { seconds: 1, nanos: 0 } }, 3, LengthDelimited],
  ["task.v2 ConnectResponse.version", taskV2.ConnectResponse, { version: "2" }, 3, LengthDelimited],
  ["task.v2 ShutdownRequest.now", taskV2.ShutdownRequest, { now: true }, 2, Varint],
  ["ttrpc Request.timeout_nano", ttrpc.Request, { timeoutNano: 1_000_000 }, 4, Varint],
  ["ttrpc Request.metadata", ttrpc.Request, { metadata: [{ key: "containerd-namespace-ttrpc", value: "default" }] }, 5, LengthDelimited],
  ["ttrpc Response.payload", ttrpc.Response, { payload: Buffer.from("x") }, 2, LengthDelimited],
  ["events.ttrpc.v1 ForwardRequest.envelope", eventsTtrpcV1.ForwardRequest, { envelope: { topic: "/tasks/exit" } }, 1, LengthDelimited],
  ["events.ttrpc.v1 Envelope.event", eventsTtrpcV1.Envelope, { event: { typeUrl: "x", value: Buffer.alloc(0) } }, 4, LengthDelimited],
  ["runc.v1 Options.systemd_cgroup", runcV1.Options, { systemdCgroup: true }, 9, Varint],
  ["runc.v1 Options.criu_work_path", runcV1.Options, { criuWorkPath: "/w" }, 11, LengthDelimited],
  ["runc.v1 ProcessDetails.exec_id", runcV1.ProcessDetails, { execId: "e" }, 1, LengthDelimited],
  ["runtimeoptions.v1 Options.config_body", runtimeoptionsV1.Options, { configBody: Buffer.from("x") }, 3, LengthDelimited],
  ["cgroups.v1 Metrics.memory_oom_control", cgroupsV1.Metrics, { memoryOomControl: { oomKill: 1n } }, 9, LengthDelimited],
  ["cgroups.v1 MemoryStat.kernel_tcp", cgroupsV1.MemoryStat, { kernelTcp: { usage: 1n } }, 36, LengthDelimited],
  ["cgroups.v1 CPUUsage.per_cpu", cgroupsV1.CPUUsage, { perCpu: [1n, 2n] }, 4, LengthDelimited],
  ["cgroups.v1 BlkIOEntry.minor", cgroupsV1.BlkIOEntry, { minor: 1n }, 4, Varint],
  ["cgroups.v2 Metrics.memory", cgroupsV2.Metrics, { memory: { usage: 1n } }, 4, LengthDelimited],
  ["cgroups.v2 Metrics.memory_events", cgroupsV2.Metrics, { memoryEvents: { oom: 1n } }, 8, LengthDelimited],
  ["cgroups.v2 MemoryStat.usage_limit", cgroupsV2.MemoryStat, { usageLimit: 1n }, 33, Varint],
  ["cgroups.v2 CPUStat.throttled_usec", cgroupsV2.CPUStat, { throttledUsec: 1n }, 6, Varint],
  ["sandbox.v1 ControllerStopRequest.timeout_secs", sandboxV1.ControllerStopRequest, { timeoutSecs: 5 }, 2, Varint],
  ["transfer.v1 TransferRequest.options", transferV1.TransferRequest, { options: { progressStream: "p" } }, 3, LengthDelimited],
];

describe("field numbers on the wire", () => {
  it.each(singleFieldCases)("%s", (_label, codec, partial, field, wireType) => {
    const bytes = encodePartial(codec, partial);
    expect(Array.from(bytes.subarray(0, keyBytes(field, wireType).length))).toEqual(keyBytes(field, wireType));
    // A map or repeated field repeats its key; nothing else may appear.
    expect(new Set(fieldsOf(bytes).map(([f, w]) => `${f}/${w}`))).toEqual(new Set([`${field}/${wireType}`]));
  });

  it("encodes CreateTaskRequest.rootfs with tag byte 0x1a (field 3, no field 2)", () => {
    const bytes = encodePartial(tasksV1.CreateTaskRequest, { rootfs: [{ type: "overlay" }] });
    expect(bytes[0]).toBe(0x1a);
  });

  it("encodes DiffResponse.diff with tag byte 0x1a", () => {
    expect(encodePartial(diffV1.DiffResponse, { diff: { mediaType: "m" } })[0]).toBe(0x1a);
  });

  it("encodes Image.created_at with tag byte 0x3a and Descriptor.annotations with 0x2a", () => {
    expect(encodePartial(imagesV1.Image, { createdAt: { seconds: 1, nanos: 0 } })[0]).toBe(0x3a);
    expect(encodePartial(types.Descriptor, { annotations: { k: "v" } })[0]).toBe(0x2a);
  });

  it("encodes shim CreateTaskRequest terminal=4 (0x20) and stdin=5 (0x2a), shim Exec terminal=3 (0x18)", () => {
    expect(encodePartial(taskV2.CreateTaskRequest, { terminal: true })[0]).toBe(0x20);
    expect(encodePartial(taskV2.CreateTaskRequest, { stdin: "i" })[0]).toBe(0x2a);
    expect(encodePartial(taskV2.ExecProcessRequest, { terminal: true })[0]).toBe(0x18);
  });

  it("encodes Container.extensions 0x52, Plugin.init_err 0x3a, ServerResponse.pidns 0x18, ttrpc metadata 0x2a", () => {
    expect(encodePartial(containersV1.Container, { extensions: { k: { typeUrl: "t", value: Buffer.alloc(0) } } })[0]).toBe(0x52);
    expect(encodePartial(introspectionV1.Plugin, { initErr: { message: "skip plugin" } })[0]).toBe(0x3a);
    expect(encodePartial(introspectionV1.ServerResponse, { pidns: 1 })[0]).toBe(0x18);
    expect(encodePartial(ttrpc.Request, { metadata: [{ key: "k", value: "v" }] })[0]).toBe(0x2a);
  });

  it("encodes snapshots CommitSnapshotRequest.labels 0x22 and content WriteContentRequest.labels 0x3a", () => {
    expect(encodePartial(snapshotsV1.CommitSnapshotRequest, { labels: { k: "v" } })[0]).toBe(0x22);
    expect(encodePartial(contentV1.WriteContentRequest, { labels: { k: "v" } })[0]).toBe(0x3a);
  });

  // Every field set: the full list of field numbers, which also proves the gaps.
  const fullCases: Array<[string, Codec, unknown, number[]]> = [
    [
      "tasks.v1 CreateTaskRequest",
      tasksV1.CreateTaskRequest,
      {
        containerId: "c",
        rootfs: [{ type: "bind" }],
        stdin: "i",
        stdout: "o",
        stderr: "e",
        terminal: true,
        checkpoint: { digest: "d" },
        options: { typeUrl: "t" },
        runtimePath: "p",
      },
      [1, 3, 4, 5, 6, 7, 8, 9, 10],
    ],
    [
      "images.v1 Image",
      imagesV1.Image,
      { name: "n", labels: { a: "b" }, target: { size: 1 }, createdAt: { seconds: 1 }, updatedAt: { seconds: 1 } },
      [1, 2, 3, 7, 8],
    ],
    ["leases.v1 CreateRequest", leasesV1.CreateRequest, { id: "l", labels: { a: "b" } }, [1, 3]],
    [
      "task.v2 CreateTaskRequest",
      taskV2.CreateTaskRequest,
      {
        id: "c",
        bundle: "/b",
        rootfs: [{ type: "bind" }],
        terminal: true,
        stdin: "i",
        stdout: "o",
        stderr: "e",
        checkpoint: "/cp",
        parentCheckpoint: "/pcp",
        options: { typeUrl: "t" },
      },
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ],
    [
      "task.v2 StateResponse",
      taskV2.StateResponse,
      {
        id: "c",
        bundle: "/b",
        pid: 1,
        status: taskTypes.Status.RUNNING,
        stdin: "i",
        stdout: "o",
        stderr: "e",
        terminal: true,
        exitStatus: 1,
        exitedAt: { seconds: 1 },
        execId: "x",
      },
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ],
    [
      "containers.v1 Container",
      containersV1.Container,
      {
        id: "c",
        labels: { a: "b" },
        image: "i",
        runtime: { name: "r" },
        spec: { typeUrl: "t" },
        snapshotter: "s",
        snapshotKey: "k",
        createdAt: { seconds: 1 },
        updatedAt: { seconds: 1 },
        extensions: { e: { typeUrl: "t" } },
        sandbox: "sb",
      },
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ],
    [
      "cgroups.v1 Metrics",
      cgroupsV1.Metrics,
      {
        hugetlb: [{ usage: 1n }],
        pids: { current: 1n },
        cpu: { usage: { total: 1n } },
        memory: { cache: 1n },
        blkio: { ioServicedRecursive: [{ op: "Read" }] },
        rdma: { current: [{ device: "d" }] },
        network: [{ name: "eth0" }],
        cgroupStats: { nrRunning: 1n },
        memoryOomControl: { underOom: 1n },
      },
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    ],
    [
      "cgroups.v2 Metrics",
      cgroupsV2.Metrics,
      {
        pids: { current: 1n },
        cpu: { usageUsec: 1n },
        memory: { anon: 1n },
        rdma: { limit: [{ device: "d" }] },
        io: { usage: [{ major: 8n }] },
        hugetlb: [{ pagesize: "2MB" }],
        memoryEvents: { oomKill: 1n },
      },
      [1, 2, 4, 5, 6, 7, 8],
    ],
    [
      "ttrpc Request",
      ttrpc.Request,
      { service: "containerd.task.v2.Task", method: "State", payload: Buffer.from([1]), timeoutNano: 1, metadata: [{ key: "k" }] },
      [1, 2, 3, 4, 5],
    ],
  ];

  it.each(fullCases)("%s carries exactly the expected field numbers", (_label, codec, partial, fields) => {
    const found = [...new Set(fieldsOf(encodePartial(codec, partial)).map(([f]) => f))];
    expect(found).toEqual(fields);
  });

  it("decodes a hand-built ttrpc Request and Response", () => {
    const text = (s: string) => [s.length, ...Buffer.from(s)];
    const request = Uint8Array.from([
      0x0a,
      ...text("containerd.task.v2.Task"),
      0x12,
      ...text("Connect"),
      0x1a,
      2,
      0x0a,
      0x00,
      0x20,
      0x80,
      0x94,
      0xeb,
      0xdc,
      0x03, // 1e9 ns
      0x2a,
      2 + 26 + 2 + 7,
      0x0a,
      ...text("containerd-namespace-ttrpc"),
      0x12,
      ...text("default"),
    ]);
    expect(ttrpc.Request.decode(request)).toEqual({
      service: "containerd.task.v2.Task",
      method: "Connect",
      payload: Buffer.from([0x0a, 0x00]),
      timeoutNano: 1_000_000_000,
      metadata: [{ key: "containerd-namespace-ttrpc", value: "default" }],
    });
    const response = Uint8Array.from([0x0a, 2 + 2 + 9, 0x08, 5, 0x12, ...text("not found"), 0x12, 0]);
    expect(ttrpc.Response.decode(response)).toEqual({
      status: { code: 5, message: "not found", details: [] },
      payload: Buffer.alloc(0),
    });
  });

  it("decodes a stock-shaped shim DeleteResponse (pid 1, exit 137, exited_at 3)", () => {
    const bytes = Uint8Array.from([0x08, 42, 0x10, 137, 0x01, 0x1a, 2, 0x08, 7]);
    expect(taskV2.DeleteResponse.decode(bytes)).toEqual({ pid: 42, exitStatus: 137, exitedAt: { seconds: 7, nanos: 0 } });
  });
});

describe("enums", () => {
  it("has containerd's numeric values", () => {
    expect([contentV1.WriteAction.STAT, contentV1.WriteAction.WRITE, contentV1.WriteAction.COMMIT]).toEqual([0, 1, 2]);
    expect([snapshotsV1.Kind.UNKNOWN, snapshotsV1.Kind.VIEW, snapshotsV1.Kind.ACTIVE, snapshotsV1.Kind.COMMITTED]).toEqual([0, 1, 2, 3]);
    expect(taskTypes.Status.PAUSING).toBe(5);
  });
});

describe("service paths", () => {
  it("uses containerd's full service names", () => {
    expect(containersV1.ContainersDefinition.fullName).toBe("containerd.services.containers.v1.Containers");
    expect(contentV1.ContentDefinition.fullName).toBe("containerd.services.content.v1.Content");
    expect(diffV1.DiffDefinition.fullName).toBe("containerd.services.diff.v1.Diff");
    expect(imagesV1.ImagesDefinition.fullName).toBe("containerd.services.images.v1.Images");
    expect(leasesV1.LeasesDefinition.fullName).toBe("containerd.services.leases.v1.Leases");
    expect(snapshotsV1.SnapshotsDefinition.fullName).toBe("containerd.services.snapshots.v1.Snapshots");
    expect(tasksV1.TasksDefinition.fullName).toBe("containerd.services.tasks.v1.Tasks");
    expect(taskV2.TaskDefinition.fullName).toBe("containerd.task.v2.Task");
    expect(eventsTtrpcV1.EventsDefinition.fullName).toBe("containerd.services.events.ttrpc.v1.Events");
    expect(sandboxV1.ControllerDefinition.fullName).toBe("containerd.services.sandbox.v1.Controller");
    expect(streamingV1.StreamingDefinition.fullName).toBe("containerd.services.streaming.v1.Streaming");
  });

  it("has the right RPC sets and stream kinds", () => {
    expect(Object.values(tasksV1.TasksDefinition.methods).map((m) => m.name)).toHaveLength(17);
    expect(Object.values(taskV2.TaskDefinition.methods).map((m) => m.name)).toEqual([
      "State",
      "Create",
      "Start",
      "Delete",
      "Pids",
      "Pause",
      "Resume",
      "Checkpoint",
      "Kill",
      "Exec",
      "ResizePty",
      "CloseIO",
      "Update",
      "Wait",
      "Stats",
      "Connect",
      "Shutdown",
    ]);
    expect(Object.values(eventsTtrpcV1.EventsDefinition.methods).map((m) => m.name)).toEqual(["Forward"]);
    const { listStream } = containersV1.ContainersDefinition.methods;
    expect([listStream.requestStream, listStream.responseStream]).toEqual([false, true]);
    const { write, read } = contentV1.ContentDefinition.methods;
    expect([write.requestStream, write.responseStream, read.requestStream, read.responseStream]).toEqual([true, true, false, true]);
    expect(snapshotsV1.SnapshotsDefinition.methods.list.responseStream).toBe(true);
    expect(tasksV1.TasksDefinition.methods.exec.responseType.encode({}).finish()).toHaveLength(0);
  });
});

describe("knownTypes", () => {
  const registry = knownTypes();

  it("packs with bare type URLs and unpacks them", () => {
    const exit = { containerId: "c1", id: "c1", pid: 42, exitStatus: 137, exitedAt: { seconds: 1700000000, nanos: 5 } };
    const any = registry.pack("containerd.events.TaskExit", exit);
    expect(any.typeUrl).toBe("containerd.events.TaskExit");
    expect(Array.from(any.value)).toEqual(Array.from(events.TaskExit.encode(exit).finish()));
    expect(registry.unpack(any)).toEqual(exit);
  });

  it.each([
    ["containerd.services.images.v1.ImageCreate", { name: "docker.io/library/alpine:latest", labels: { a: "b" } }],
    ["containerd.services.images.v1.ImageDelete", { name: "x" }],
    ["containerd.runc.v1.Options", runcV1.Options.fromPartial({ binaryName: "runc", systemdCgroup: true, ioUid: 1000 })],
    ["containerd.runc.v1.ProcessDetails", { execId: "e1" }],
    ["runtimeoptions.v1.Options", runtimeoptionsV1.Options.fromPartial({ configPath: "/etc/runc.toml" })],
    [
      "io.containerd.cgroups.v1.Metrics",
      cgroupsV1.Metrics.fromPartial({ pids: { current: 3n, limit: 10n }, cpu: { usage: { total: 99n, perCpu: [1n, 2n] } } }),
    ],
    ["io.containerd.cgroups.v2.Metrics", cgroupsV2.Metrics.fromPartial({ memory: { usage: 4096n, usageLimit: 8192n } })],
    ["containerd.v1.types.ProcessInfo", taskTypes.ProcessInfo.fromPartial({ pid: 7 })],
    ["containerd.task.v2.DeleteResponse", taskV2.DeleteResponse.fromPartial({ pid: 7, exitStatus: 1 })],
  ])("round-trips %s", (typeUrl, message) => {
    expect(registry.has(typeUrl)).toBe(true);
    const any = registry.pack(typeUrl, message);
    expect(any.typeUrl).toBe(typeUrl);
    expect(registry.unpack(any)).toEqual(message);
  });

  it("carries cgroup limits beyond 2^53 exactly (unlimited memory on cgroup v1 and v2)", () => {
    const v1 = cgroupsV1.Metrics.fromPartial({ memory: { usage: { limit: 9223372036854771712n } } });
    const v2 = cgroupsV2.Metrics.fromPartial({ memory: { usageLimit: 18446744073709551615n, swapLimit: 18446744073709551615n } });
    expect(registry.unpack(registry.pack("io.containerd.cgroups.v1.Metrics", v1))).toEqual(v1);
    expect(registry.unpack(registry.pack("io.containerd.cgroups.v2.Metrics", v2))).toEqual(v2);
  });

  it("decodes with the right type, not just any type", () => {
    const any = registry.pack("containerd.runc.v1.Options", runcV1.Options.fromPartial({ criuWorkPath: "/w" }));
    // Field 11 is a string in runc Options; read back as the wrong type it would not be criuWorkPath.
    expect(registry.unpack<runcV1.Options>(any).criuWorkPath).toBe("/w");
    const metrics = registry.unpack<cgroupsV1.Metrics>({
      typeUrl: "io.containerd.cgroups.v1.Metrics",
      value: Buffer.from(cgroupsV1.Metrics.encode(cgroupsV1.Metrics.fromPartial({ memory: { kernelTcp: { failcnt: 2n } } })).finish()),
    });
    expect(metrics.memory?.kernelTcp?.failcnt).toBe(2n);
  });

  it("unpacks a type.googleapis.com/-prefixed URL", () => {
    const value = Buffer.from(imagesV1.ImageUpdate.encode({ name: "n", labels: { k: "v" } }).finish());
    expect(registry.unpack({ typeUrl: "type.googleapis.com/containerd.services.images.v1.ImageUpdate", value })).toEqual({
      name: "n",
      labels: { k: "v" },
    });
    expect(registry.has("type.googleapis.com/io.containerd.cgroups.v2.Metrics")).toBe(true);
  });

  it("knows nothing under a wrong package name", () => {
    expect(registry.has("containerd.events.ImageCreate")).toBe(false);
    expect(registry.has("containerd.images.v1.ImageCreate")).toBe(false);
    expect(() => registry.unpack({ typeUrl: "containerd.runc.v2.Options", value: Buffer.alloc(0) })).toThrow();
  });
});
