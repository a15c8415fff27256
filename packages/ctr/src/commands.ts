import {
  ContentFetchObject,
  ContentPushObject,
  ImagesCheck,
  ImagesConvert,
  ImagesExport,
  ImagesImport,
  ImagesPush,
  ImagesRemove,
  ImagesTag,
} from "@berth/cli-kit/commands";
import { ContainersCheckpoint, ContainersRestore } from "./commands/containers/checkpoint.js";
import { ContainersCreate } from "./commands/containers/create.js";
import { ContainersInfo } from "./commands/containers/info.js";
import { ContainersLabel } from "./commands/containers/label.js";
import { ContainersList } from "./commands/containers/list.js";
import { ContainersRemove } from "./commands/containers/remove.js";
import { ContentActive } from "./commands/content/active.js";
import { ContentEdit } from "./commands/content/edit.js";
import { ContentFetch } from "./commands/content/fetch.js";
import { ContentGet } from "./commands/content/get.js";
import { ContentIngest } from "./commands/content/ingest.js";
import { ContentLabel } from "./commands/content/label.js";
import { ContentList } from "./commands/content/list.js";
import { ContentPruneReferences } from "./commands/content/prune.js";
import { ContentRemove } from "./commands/content/remove.js";
import { Events } from "./commands/events.js";
import { ImagesLabel } from "./commands/images/label.js";
import { ImagesList } from "./commands/images/list.js";
import { ImagesMount } from "./commands/images/mount.js";
import { ImagesPull } from "./commands/images/pull.js";
import { ImagesUnmount } from "./commands/images/unmount.js";
import { Install } from "./commands/install.js";
import { LeasesCreate } from "./commands/leases/create.js";
import { LeasesList } from "./commands/leases/list.js";
import { LeasesRemove } from "./commands/leases/remove.js";
import { NamespacesCreate } from "./commands/namespaces/create.js";
import { NamespacesLabel } from "./commands/namespaces/label.js";
import { NamespacesList } from "./commands/namespaces/list.js";
import { NamespacesRemove } from "./commands/namespaces/remove.js";
import { OciSpec } from "./commands/oci/spec.js";
import { PprofBlock, PprofGoroutines, PprofHeap, PprofProfile, PprofThreadcreate, PprofTrace } from "./commands/pprof/pprof.js";
import { PluginsList } from "./commands/plugins/list.js";
import { Run } from "./commands/run.js";
import { ShimDelete, ShimExec, ShimStart, ShimState } from "./commands/shim/commands.js";
import { SnapshotsCommit } from "./commands/snapshots/commit.js";
import { SnapshotsDiff } from "./commands/snapshots/diff.js";
import { SnapshotsInfo } from "./commands/snapshots/info.js";
import { SnapshotsLabel } from "./commands/snapshots/label.js";
import { SnapshotListSeed, SnapshotsList } from "./commands/snapshots/list.js";
import { SnapshotsMounts } from "./commands/snapshots/mounts.js";
import { SnapshotsPrepare, SnapshotsView } from "./commands/snapshots/prepare.js";
import { SnapshotsRemove } from "./commands/snapshots/remove.js";
import { SnapshotsTree } from "./commands/snapshots/tree.js";
import { SnapshotsUnpack } from "./commands/snapshots/unpack.js";
import { SnapshotsUsage } from "./commands/snapshots/usage.js";
import { TasksAttach } from "./commands/tasks/attach.js";
import { TasksCheckpoint } from "./commands/tasks/checkpoint.js";
import { TasksDelete } from "./commands/tasks/delete.js";
import { TasksExec } from "./commands/tasks/exec.js";
import { TasksKill } from "./commands/tasks/kill.js";
import { TasksList } from "./commands/tasks/list.js";
import { TasksMetrics } from "./commands/tasks/metrics.js";
import { TasksPause, TasksResume } from "./commands/tasks/pause.js";
import { TasksPs } from "./commands/tasks/ps.js";
import { TasksStart } from "./commands/tasks/start.js";
import { Version } from "./commands/version.js";

/** Every ctr command by id; oclif's explicit command strategy reads this object. */
export const commands = {
  "containers:checkpoint": ContainersCheckpoint,
  "containers:create": ContainersCreate,
  "containers:info": ContainersInfo,
  "containers:label": ContainersLabel,
  "containers:list": ContainersList,
  "containers:delete": ContainersRemove,
  "containers:restore": ContainersRestore,
  "content:active": ContentActive,
  "content:edit": ContentEdit,
  "content:fetch": ContentFetch,
  "content:fetch-object": ContentFetchObject,
  "content:get": ContentGet,
  "content:ingest": ContentIngest,
  "content:label": ContentLabel,
  "content:list": ContentList,
  "content:delete": ContentRemove,
  "content:prune:references": ContentPruneReferences,
  "content:push-object": ContentPushObject,
  events: Events,
  "images:check": ImagesCheck,
  "images:convert": ImagesConvert,
  "images:export": ImagesExport,
  "images:import": ImagesImport,
  "images:label": ImagesLabel,
  "images:list": ImagesList,
  "images:mount": ImagesMount,
  "images:pull": ImagesPull,
  "images:push": ImagesPush,
  "images:delete": ImagesRemove,
  "images:tag": ImagesTag,
  "images:unmount": ImagesUnmount,
  install: Install,
  "leases:create": LeasesCreate,
  "leases:list": LeasesList,
  "leases:delete": LeasesRemove,
  "namespaces:create": NamespacesCreate,
  "namespaces:label": NamespacesLabel,
  "namespaces:list": NamespacesList,
  "namespaces:remove": NamespacesRemove,
  "oci:spec": OciSpec,
  "plugins:list": PluginsList,
  "pprof:block": PprofBlock,
  "pprof:goroutines": PprofGoroutines,
  "pprof:heap": PprofHeap,
  "pprof:profile": PprofProfile,
  "pprof:threadcreate": PprofThreadcreate,
  "pprof:trace": PprofTrace,
  run: Run,
  "shim:delete": ShimDelete,
  "shim:exec": ShimExec,
  "shim:start": ShimStart,
  "shim:state": ShimState,
  "snapshot:list": SnapshotListSeed,
  "snapshots:commit": SnapshotsCommit,
  "snapshots:diff": SnapshotsDiff,
  "snapshots:info": SnapshotsInfo,
  "snapshots:label": SnapshotsLabel,
  "snapshots:list": SnapshotsList,
  "snapshots:mounts": SnapshotsMounts,
  "snapshots:prepare": SnapshotsPrepare,
  "snapshots:delete": SnapshotsRemove,
  "snapshots:tree": SnapshotsTree,
  "snapshots:unpack": SnapshotsUnpack,
  "snapshots:usage": SnapshotsUsage,
  "snapshots:view": SnapshotsView,
  "tasks:attach": TasksAttach,
  "tasks:checkpoint": TasksCheckpoint,
  "tasks:delete": TasksDelete,
  "tasks:exec": TasksExec,
  "tasks:kill": TasksKill,
  "tasks:list": TasksList,
  "tasks:metrics": TasksMetrics,
  "tasks:pause": TasksPause,
  "tasks:ps": TasksPs,
  "tasks:resume": TasksResume,
  "tasks:start": TasksStart,
  version: Version,
};
