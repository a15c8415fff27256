import { type ShimFlags, parseFlags } from "./flags.js";
import { spareAction } from "./handover.js";

export const shimName = "containerd-shim-berth-v2";

/**
 * The shim binary's entry: `start` and `delete` as containerd's shim v2 protocol calls them,
 * plus the hidden `serve` that `start` launches and `spare`, a server the daemon starts ahead of need. `script` is the file Node runs (the bin), so
 * that `start` can launch the server from it. Each action loads only its own modules: containerd
 * waits for `start` on every task it creates.
 */
export async function main(argv: readonly string[], script: string): Promise<number> {
  let flags: ShimFlags;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (flags.version) {
    process.stdout.write(`${shimName}:\n  Runtime: io.containerd.runc.v2\n`);
    return 0;
  }
  try {
    switch (flags.action) {
      case "start":
        process.stdout.write(await (await import("./start.js")).startCommand(flags, script));
        return 0;
      case "delete":
        process.stdout.write(await (await import("./delete.js")).deleteCommand(flags));
        return 0;
      case "serve":
        await (await import("./serve.js")).serveCommand(flags);
        return -1;
      case spareAction: {
        // Everything the server needs loaded before the wait, which is the point of a spare.
        const [{ awaitHandover }, { serveCommand }] = await Promise.all([import("./spare.js"), import("./serve.js")]);
        const handed = await awaitHandover();
        if (handed === undefined) return 0;
        flags = handed;
        await serveCommand(flags);
        return -1;
      }
      default:
        process.stderr.write(`${shimName}: unknown action ${JSON.stringify(flags.action)} (start, delete)\n`);
        return 2;
    }
  } catch (error) {
    if (flags.action === "serve") (await import("./serve.js")).reportStartFailure(error);
    process.stderr.write(`${shimName} ${flags.action}: ${(error as Error).message}\n`);
    return 1;
  }
}
