import { Flags } from "@oclif/core";

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
export function resolverOptions(flags: RegistryFlagValues): { plainHttp: boolean; skipVerify: boolean; hostsDir?: string; credentials?: { username: string; password: string } } {
  const [username = "", password = ""] = (flags.user ?? "").split(/:(.*)/s);
  return {
    plainHttp: flags["plain-http"] ?? false,
    skipVerify: flags["skip-verify"] ?? false,
    ...(flags["hosts-dir"] ? { hostsDir: flags["hosts-dir"] } : {}),
    ...(flags.user ? { credentials: { username, password } } : {}),
  };
}
