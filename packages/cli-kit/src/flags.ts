import * as Flags from "@oclif/core/flags";

/** ctr's registry flags (commands.RegistryFlags). */
export const registryFlags = {
  "skip-verify": Flags.boolean({ char: "k", description: "skip SSL certificate validation" }),
  "plain-http": Flags.boolean({ description: "allow connections using plain HTTP" }),
  user: Flags.string({ char: "u", description: "user[:password] Registry user and password" }),
  "hosts-dir": Flags.string({ description: "custom hosts configuration directory" }),
};

export interface RegistryFlagValues {
  readonly "skip-verify"?: boolean | undefined;
  readonly "plain-http"?: boolean | undefined;
  readonly user?: string | undefined;
  readonly "hosts-dir"?: string | undefined;
}

/** The resolver options the registry flags mean (`-u user:password`; a user alone has an empty password). */
export function resolverOptions(flags: RegistryFlagValues): {
  plainHttp: boolean;
  skipVerify: boolean;
  hostsDir?: string;
  credentials?: { username: string; password: string };
} {
  const [username = "", password = ""] = (flags.user ?? "").split(/:(.*)/s);
  return {
    plainHttp: flags["plain-http"] ?? false,
    skipVerify: flags["skip-verify"] ?? false,
    ...(flags["hosts-dir"] ? { hostsDir: flags["hosts-dir"] } : {}),
    ...(flags.user ? { credentials: { username, password } } : {}),
  };
}

export const snapshotterFlag = {
  snapshotter: Flags.string({ description: "snapshotter name. Empty value stands for the default value.", env: "CONTAINERD_SNAPSHOTTER" }),
};

/** Flags of the commands that fetch an image from a registry (ctr's content fetch, dist's fetch). */
export const fetchFlags = {
  ...registryFlags,
  label: Flags.string({ multiple: true, multipleNonGreedy: true, description: "labels to attach to the image" }),
  platform: Flags.string({
    multiple: true,
    multipleNonGreedy: true,
    description: "Pull content from a specific platform (os/arch[/variant]); default: this host's",
  }),
  "all-platforms": Flags.boolean({ description: "pull content from all platforms" }),
};

export interface FetchFlagValues extends RegistryFlagValues {
  readonly "all-metadata"?: boolean | undefined;
  readonly "metadata-only"?: boolean | undefined;
  readonly platform?: string[] | undefined;
  readonly "all-platforms"?: boolean | undefined;
  readonly label?: string[] | undefined;
}
