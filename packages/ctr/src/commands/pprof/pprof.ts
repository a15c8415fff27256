import { request } from "node:http";
import * as Flags from "@oclif/core/flags";
import { CtrCommand, parseDuration } from "@berth/cli-kit";

/** Where a daemon serves its debug endpoints unless told: Berth's state directory, as berthd's other sockets. */
export const defaultDebugSocket = "/run/berth/debug.sock";

const debugSocketFlag = {
  "debug-socket": Flags.string({ char: "d", description: "socket path for containerd's debug server", default: defaultDebugSocket }),
};

/**
 * One `ctr pprof` subcommand: GETs a path from the daemon's debug socket (`[debug] address`) and
 * copies the answer to stdout. A stock containerd answers with Go's pprof output; berthd with V8's
 * heap snapshot (heap) and CPU profile (profile) and 404 for Go-only profiles.
 */
abstract class PprofCommand extends CtrCommand {
  protected async fetchTo(socketPath: string, path: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const call = request({ socketPath, path, method: "GET", headers: { host: "." } }, (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new Error(`http get failed with status: ${response.statusCode} ${response.statusMessage}`));
          return;
        }
        response.pipe(process.stdout, { end: false });
        response.once("end", () => resolve());
        response.once("error", reject);
      });
      call.once("error", (error) =>
        reject(
          new Error(
            `Get "http://.${path}": dial unix ${socketPath}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "connect: no such file or directory" : error.message}`,
          ),
        ),
      );
      call.end();
    });
  }
}

/** Go's `%v` of a time.Duration's Seconds(): "30", "1.5". */
const goSeconds = (ms: number) => String(ms / 1000);

export class PprofHeap extends PprofCommand {
  static override summary = "dump heap profile";
  static override description =
    "Against berthd: a V8 heap snapshot of the daemon (.heapsnapshot, for Chrome DevTools' Memory tab). Against containerd: Go's heap profile.";
  static override usage = "pprof heap [--debug-socket <path>]";
  static override flags = debugSocketFlag;

  async run(): Promise<void> {
    const { flags } = await this.parse(PprofHeap);
    await this.fetchTo(flags["debug-socket"], "/debug/pprof/heap");
  }
}

export class PprofProfile extends PprofCommand {
  static override summary = "CPU profile";
  static override description =
    "Against berthd: a V8 CPU profile of the daemon over --seconds (.cpuprofile, for Chrome DevTools' Performance tab). Against containerd: Go's CPU profile.";
  static override usage = "pprof profile [--debug-socket <path>] [--seconds <duration>]";
  static override flags = {
    ...debugSocketFlag,
    seconds: Flags.string({ char: "s", description: "duration for collection (seconds)", default: "30s" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(PprofProfile);
    await this.fetchTo(flags["debug-socket"], `/debug/pprof/profile?seconds=${goSeconds(parseDuration(flags.seconds))}`);
  }
}

export class PprofTrace extends PprofCommand {
  static override summary = "collect execution trace";
  static override description = "Go's execution trace (containerd only; berthd answers 404).";
  static override usage = "pprof trace [--debug-socket <path>] [--seconds <duration>]";
  static override flags = {
    ...debugSocketFlag,
    seconds: Flags.string({ char: "s", description: "trace time (seconds)", default: "5s" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(PprofTrace);
    await this.fetchTo(flags["debug-socket"], `/debug/pprof/trace?seconds=${goSeconds(parseDuration(flags.seconds))}`);
  }
}

/** A Go-only profile without options (goroutines, block, threadcreate): containerd serves it, berthd answers 404. */
abstract class GoProfileCommand extends PprofCommand {
  static override flags = debugSocketFlag;
  protected abstract readonly path: string;

  async run(): Promise<void> {
    const { flags } = await this.parse(this.ctor as typeof PprofHeap);
    await this.fetchTo(flags["debug-socket"], this.path);
  }
}

export class PprofGoroutines extends GoProfileCommand {
  static override summary = "dump goroutine stack dump";
  static override usage = "pprof goroutines [--debug-socket <path>]";
  protected readonly path = "/debug/pprof/goroutine?debug=2";
}

export class PprofBlock extends GoProfileCommand {
  static override summary = "goroutine blocking profile";
  static override usage = "pprof block [--debug-socket <path>]";
  protected readonly path = "/debug/pprof/block";
}

export class PprofThreadcreate extends GoProfileCommand {
  static override summary = "goroutine thread creating profile";
  static override usage = "pprof threadcreate [--debug-socket <path>]";
  protected readonly path = "/debug/pprof/threadcreate";
}
