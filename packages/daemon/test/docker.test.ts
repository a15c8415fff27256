// Debian's Docker (dockerd 20.10, containerd's Go client inside) uses berthd as its containerd, and
// keeps working when berthd is killed with -9 and started again: dockerd loses its event
// subscriptions, polls the health service until it answers SERVING, and subscribes again. Without
// that, no exit reaches it any more, and `docker exec`, `stop` and `run` wait forever.
import {
  type RunningDaemon,
  type RunningDockerd,
  type RunningRegistry,
  buildBusyboxImage,
  disposeTaskDaemon,
  dockerInstalled,
  freePort,
  promSamples,
  pushTestImage,
  scrapeProm,
  startBerthd,
  startDockerd,
  startRegistry,
  waitUntil,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Long enough for a slow CI machine; a command that takes longer is hanging. */
const hangGuardMs = 90_000;

describe.skipIf(!dockerInstalled)("Docker with berthd as its containerd", () => {
  let registry: RunningRegistry | undefined;
  let berthd: RunningDaemon | undefined;
  let dockerd: RunningDockerd | undefined;
  let image: string;
  let berthdConfig: string;
  let metricsUrl: string;

  const dockerLogTail = () => dockerd!.logs().slice(-4000);
  const docker = async (...args: string[]) => {
    const result = await dockerd!.docker(args, hangGuardMs);
    if (result.signal !== null) throw new Error(`docker ${args.join(" ")} hung (killed after ${hangGuardMs} ms)\ndockerd:\n${dockerLogTail()}`);
    return result;
  };
  /** Open event subscriptions on berthd: Docker holds one per containerd namespace it uses. */
  const subscribers = async () => {
    const scraped = await scrapeProm(metricsUrl).catch(() => undefined); // a restarting berthd may not serve yet
    return scraped === undefined ? 0 : (promSamples(scraped.samples, "berth_events_subscribers")[0]?.value ?? 0);
  };

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    // Docker takes registries on 127.0.0.0/8 as insecure: plain HTTP.
    image = `${registry.host}/library/busybox:latest`;
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/v1/metrics`;
    berthdConfig = `version = 2\n[metrics]\n  address = "127.0.0.1:${port}"\n`;
    berthd = await startBerthd({ config: berthdConfig, logLevel: "info" });
    dockerd = await startDockerd({ containerd: berthd.address });
  }, 240_000);

  afterAll(async () => {
    await dockerd?.cleanup();
    if (berthd !== undefined) await disposeTaskDaemon(berthd, ["moby", "plugins.moby"]);
    await registry?.stop();
  }, 120_000);

  it("pulls, runs, and after berthd is killed and restarted execs, stops and runs again", async () => {
    const pulled = await docker("pull", image);
    expect(pulled.code, pulled.stderr).toBe(0);

    const hello = await docker("run", "--rm", "--network", "none", image, "echo", "hi");
    expect(hello, hello.stderr).toMatchObject({ code: 0, stdout: "hi\n" });

    const started = await docker("run", "-d", "--network", "none", "--name", "sleeper", image, "sleep", "1000");
    expect(started.code, started.stderr).toBe(0);
    const before = await docker("exec", "sleeper", "echo", "before");
    expect(before, before.stderr).toMatchObject({ code: 0, stdout: "before\n" });
    const subscribed = await subscribers();
    expect(subscribed).toBeGreaterThan(0);

    await berthd!.kill();
    berthd = await startBerthd({ reuse: berthd!, config: berthdConfig, logLevel: "info" });
    // An exit published before Docker subscribes again is lost to it (with containerd too): wait for it.
    await waitUntil("dockerd to subscribe to berthd's events again", async () => (await subscribers()) >= subscribed, hangGuardMs).catch((error: Error) => {
      throw new Error(`${error.message}\ndockerd:\n${dockerLogTail()}`);
    });

    const after = await docker("exec", "sleeper", "echo", "after");
    expect(after, after.stderr).toMatchObject({ code: 0, stdout: "after\n" });

    // busybox's sleep as pid 1 ignores SIGTERM: docker kills it after the 1 s grace.
    const stopped = await docker("stop", "--time", "1", "sleeper");
    expect(stopped, stopped.stderr).toMatchObject({ code: 0, stdout: "sleeper\n" });
    const state = await docker("inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", "sleeper");
    expect(state.stdout).toBe("false 137\n");
    expect((await docker("rm", "sleeper")).code).toBe(0);

    const again = await docker("run", "--rm", "--network", "none", image, "echo", "hi again");
    expect(again, again.stderr).toMatchObject({ code: 0, stdout: "hi again\n" });
    const listed = await docker("ps", "--all", "--quiet");
    expect(listed.stdout).toBe("");
  }, 600_000);
});
