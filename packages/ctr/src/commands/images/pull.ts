import { Args, Flags } from "@oclif/core";
import { CtrCommand } from "../../base.js";
import { aliases } from "../../words.js";

export class ImagesPull extends CtrCommand {
  static override summary = "pull an image from a remote";
  static override description = "Fetch and prepare an image for use in containerd: all its content for the chosen platform goes into the content store, the image is recorded, and its layers are unpacked into the snapshotter.";
  static override usage = "images pull [flags] <ref>";
  static override aliases = aliases(["images", "image", "i"], ["pull"]);
  static override args = { ref: Args.string({ required: true, description: "a fully qualified reference, e.g. docker.io/library/busybox:latest" }) };
  static override flags = {
    "plain-http": Flags.boolean({ description: "allow connections using plain HTTP" }),
    "skip-verify": Flags.boolean({ char: "k", description: "skip SSL certificate validation" }),
    user: Flags.string({ char: "u", description: "user[:password] Registry user and password" }),
    "hosts-dir": Flags.string({ description: "custom hosts configuration directory" }),
    platform: Flags.string({ multiple: true, description: "pull content for a specific platform" }),
    "all-platforms": Flags.boolean({ description: "pull content and metadata from all platforms" }),
    snapshotter: Flags.string({ description: "snapshotter name. Empty value stands for the default value.", env: "CONTAINERD_SNAPSHOTTER" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImagesPull);
    const client = await this.connect(flags);
    const { pull, parsePlatform } = await import("@berth/client");
    const [username = "", password = ""] = (flags.user ?? "").split(/:(.*)/s);
    const started = Date.now();
    const image = await pull(client, args.ref, {
      plainHttp: flags["plain-http"],
      skipVerify: flags["skip-verify"],
      ...(flags["hosts-dir"] ? { hostsDir: flags["hosts-dir"] } : {}),
      ...(flags.user ? { credentials: { username, password } } : {}),
      ...(flags.platform ? { platforms: flags.platform.map(parsePlatform) } : {}),
      allPlatforms: flags["all-platforms"],
      unpack: flags.snapshotter || "overlayfs",
      progress: ({ descriptor, status }) => {
        if (status !== "fetching") this.print(`${descriptor.mediaType.split(".").at(-1)}-${descriptor.digest}: ${status}\n`);
      },
    });
    this.print(`elapsed: ${((Date.now() - started) / 1000).toFixed(1)} s\n${image.name}: ${image.target.digest}\n`);
  }
}
