import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  type Any,
  type CallContext,
  type ContainerStore,
  type ContentStore,
  checkpointMediaTypes,
  invalidArgument,
  isKind,
  requireNamespace,
} from "@berth/api";
import { google_protobuf_any, runcV1 } from "@berth/api/proto";
import type { Descriptor } from "@berth/oci";
import type { TaskService } from "./tasks.js";
import { diffModule } from "./diff.js";

/** A blob of a checkpoint, with annotations always present (as on the wire). */
export type CheckpointDescriptor = Descriptor & { readonly annotations: Record<string, string> };

const typeOf = (any: Any) => any.typeUrl.replace(/^type\.googleapis\.com\//, "");
const isRuncRuntime = (runtime: string) => runtime.startsWith("io.containerd.runc.");

/**
 * Checkpoints of tasks into the content store, and CRIU images for a Create that restores, as
 * containerd's Tasks service (`services/tasks/local.go`) does. CRIU images are worked on in
 * temporary directories under `directory` (in the daemon's root), removed once done.
 */
export class TaskCheckpoints {
  constructor(
    private readonly tasks: TaskService,
    private readonly containers: ContainerStore,
    private readonly content: ContentStore,
    private readonly directory: string,
  ) {}

  /**
   * Dumps the task with its shim. With an image path in the runc `CheckpointOptions` the dump stays
   * there and nothing is returned; else it goes into the content store as a tar of the CRIU image
   * (`…criu.checkpoint.criu.tar`) plus the container's spec (`…checkpoint.config.v1+proto`).
   */
  async checkpoint(context: CallContext, containerId: string, options: Any | undefined): Promise<CheckpointDescriptor[]> {
    const container = await this.containers.get(context, containerId);
    const task = await this.tasks.task(context, containerId);
    const imagePath = checkpointImagePath(container.runtime.name, options);
    if (imagePath !== "") {
      await task.checkpoint(context, imagePath, options);
      return [];
    }
    const image = await this.#temporaryDirectory();
    try {
      await task.checkpoint(context, image, options);
      // The whole directory as a layer over nothing (a lower that does not exist), as containerd's archive.Diff("", image).
      const { computeLayer } = await diffModule();
      const criu = await this.#store(context, checkpointMediaTypes.criu, image, computeLayer(`${image}.none`, image));
      const spec = container.spec === undefined ? new Uint8Array() : google_protobuf_any.Any.encode(container.spec).finish();
      const config = await this.#store(context, checkpointMediaTypes.config, join(image, "spec"), [spec]);
      return [criu, config];
    } finally {
      await rm(image, { recursive: true, force: true });
    }
  }

  /**
   * Runs `create` with the CRIU image a Create names: the runc options' `criu_image_path`, else
   * the checkpoint descriptor's tar unpacked into `<directory>/restore/<namespace>/<id>`. The shim
   * restores at Start, so that directory stays until the task is deleted (`release`), or the
   * create fails.
   */
  async withRestorePath<T>(
    context: CallContext,
    request: { containerId: string; options: Any | undefined; checkpoint: { mediaType: string; digest: string } | undefined },
    create: (checkpoint: string) => Promise<T>,
  ): Promise<T> {
    const container = await this.containers.get(context, request.containerId);
    const given = criuImagePath(container.runtime.name, request.options);
    const checkpoint = request.checkpoint;
    if (given !== "" || checkpoint === undefined || checkpoint.digest === "") return create(given);
    if (checkpoint.mediaType !== checkpointMediaTypes.criu)
      throw invalidArgument(`checkpoint: unsupported checkpoint type ${JSON.stringify(checkpoint.mediaType)}`);
    const image = this.#restoreDirectory(context, request.containerId);
    await rm(image, { recursive: true, force: true });
    await mkdir(image, { recursive: true, mode: 0o700 });
    try {
      const { applyLayer } = await diffModule();
      await applyLayer(this.content.read(context, checkpoint.digest), image);
      return await create(image);
    } catch (error) {
      await rm(image, { recursive: true, force: true });
      throw error;
    }
  }

  /** Removes the CRIU image a task was restored from, once the task is deleted. */
  async release(context: CallContext, containerId: string): Promise<void> {
    await rm(this.#restoreDirectory(context, containerId), { recursive: true, force: true });
  }

  #restoreDirectory(context: CallContext, containerId: string): string {
    return join(this.directory, "restore", requireNamespace(context), containerId);
  }

  async #temporaryDirectory(): Promise<string> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    return mkdtemp(join(this.directory, "ctrd-checkpoint"));
  }

  /** Streams a blob into the content store under `ref` (a blob already there counts as written). */
  async #store(context: CallContext, mediaType: string, ref: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<CheckpointDescriptor> {
    const writer = await this.content.writer(context, { ref });
    let size = 0;
    try {
      for await (const chunk of chunks) {
        await writer.write(chunk);
        size += chunk.byteLength;
      }
      const digest = await writer.digest();
      await writer.commit(size, digest).catch((error: unknown) => {
        if (!isKind(error, "AlreadyExists")) throw error;
      });
      return { mediaType, digest, size, annotations: {} };
    } catch (error) {
      await writer.close().catch(() => undefined);
      await this.content.abort(context, ref).catch(() => undefined);
      throw error;
    }
  }
}

/** containerd's getCheckpointPath: a runc task's `CheckpointOptions.image_path`. */
function checkpointImagePath(runtime: string, options: Any | undefined): string {
  if (options === undefined || !isRuncRuntime(runtime)) return "";
  if (typeOf(options) !== "containerd.runc.v1.CheckpointOptions") throw invalidArgument(`options: invalid task checkpoint option for ${runtime}`);
  return runcV1.CheckpointOptions.decode(options.value).imagePath;
}

/** containerd's getRestorePath: a runc task's `Options.criu_image_path`. */
function criuImagePath(runtime: string, options: Any | undefined): string {
  if (options === undefined || options.typeUrl === "" || !isRuncRuntime(runtime)) return "";
  if (typeOf(options) !== "containerd.runc.v1.Options") throw invalidArgument(`options: invalid task create option for ${runtime}`);
  return runcV1.Options.decode(options.value).criuImagePath;
}
