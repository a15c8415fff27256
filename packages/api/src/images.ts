import type { CallContext } from "./context.js";
import type { Timestamp } from "./timestamps.js";

export interface ImageTarget {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface Image {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly target: ImageTarget;
  readonly createdAt: Timestamp;
  readonly updatedAt: Timestamp;
}

export type NewImage = Pick<Image, "name" | "labels" | "target">;

/**
 * Named references to content, per namespace. Publishes `/images/create|update|delete`.
 *
 * - `create`: InvalidArgument for an empty name, an invalid target digest, a target size ≤ 0 or
 *   an empty media type, or bad labels; AlreadyExists for a taken name.
 * - `update`: fieldpaths `labels`, `labels.<key>`, `target`, `annotations`, `annotations.<key>`
 *   (others InvalidArgument); none replaces everything but created_at. NotFound when absent.
 * - `get`, `delete`: NotFound when absent; `delete` with `sync` returns after a garbage collection.
 * - `list` takes containerd filters: `name`, `target.digest`, `target.mediatype`, `labels.<key>`,
 *   `annotations.<key>`.
 */
export interface ImageStore {
  get(context: CallContext, name: string): Promise<Image>;
  list(context: CallContext, filters: readonly string[]): Promise<Image[]>;
  create(context: CallContext, image: NewImage): Promise<Image>;
  update(context: CallContext, image: NewImage, fieldpaths: readonly string[]): Promise<Image>;
  delete(context: CallContext, name: string, sync?: boolean): Promise<void>;
}
