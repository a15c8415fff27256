import type { Platform } from "./platform.js";

/**
 * An OCI content descriptor (Docker schema 2 uses the same shape): what a blob is, its digest and
 * size, as it travels between registry, content store, image records and the differ.
 */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[] | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** Set on the entries of an index: the platform the manifest is for. */
  readonly platform?: Platform | undefined;
}

/** An image manifest (OCI or Docker schema 2: the fields Berth reads are the same). */
export interface Manifest {
  readonly schemaVersion?: number;
  readonly mediaType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An OCI index or Docker manifest list: a manifest per platform. */
export interface Index {
  readonly schemaVersion?: number;
  readonly mediaType?: string;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The `config` object of an image config: how a container of the image runs. */
export interface ImageRunDefaults {
  readonly User?: string;
  readonly ExposedPorts?: Readonly<Record<string, object>> | null;
  readonly Env?: readonly string[] | null;
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly Volumes?: Readonly<Record<string, object>> | null;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly StopSignal?: string;
  /** Docker's, for Windows images: Entrypoint and Cmd are each one pre-escaped command line. */
  readonly ArgsEscaped?: boolean;
}

/** An OCI image config (Docker's is a superset): its platform, run defaults and the diff IDs of its layers. */
export interface ImageConfig {
  readonly created?: string;
  readonly author?: string;
  readonly architecture?: string;
  readonly os?: string;
  readonly "os.version"?: string;
  readonly "os.features"?: readonly string[];
  readonly variant?: string;
  readonly config?: ImageRunDefaults;
  readonly rootfs?: { readonly type?: string; readonly diff_ids?: readonly string[] };
  readonly history?: readonly Readonly<Record<string, unknown>>[];
}
