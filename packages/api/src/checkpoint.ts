/**
 * containerd's checkpoint images: an OCI index in the images store whose manifests are these
 * blobs (containerd's `images.MediaTypeContainerd1*`), annotated with what the container ran.
 */
export const checkpointMediaTypes = {
  /** The CRIU image directory as a tar (Tasks.Checkpoint). */
  criu: "application/vnd.containerd.container.criu.checkpoint.criu.tar",
  /** The container's spec, a protobuf-encoded `google.protobuf.Any` (Tasks.Checkpoint). */
  config: "application/vnd.containerd.container.checkpoint.config.v1+proto",
  /** The container's runtime options, a protobuf-encoded `google.protobuf.Any` (when it has some). */
  runtimeOptions: "application/vnd.containerd.container.checkpoint.runtime.options+proto",
} as const;

/** Annotations of a container checkpoint's index (containerd's client writes them, and restore reads them). */
export const checkpointAnnotations = {
  imageName: "org.opencontainers.image.ref.name",
  runtimeName: "io.containerd.checkpoint.runtime",
  snapshotterName: "io.containerd.checkpoint.snapshotter",
} as const;

/** The label on the image record of a task checkpoint (`ctr tasks checkpoint`). */
export const checkpointLabel = "containerd.io/checkpoint";
