// `ctr run --log-uri`: a `binary://` log driver gets the container's stdout and stderr as fds 3 and
// 4 and says it is ready by closing fd 5, with only CONTAINER_ID and CONTAINER_NAMESPACE in its
// environment and the URI's query as its arguments. The same through berthd with Berth's shim and with the stock shim, and through a stock containerd.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CtrSession,
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  ctrSession,
  disposeTaskDaemon,
  pushTestImage,
  startBerthd,
  startRegistry,
  startStockContainerd,
  stockContainerdInstalled,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const namespace = `berth-test-log-uri-${process.pid}`;
const stockShimConfig = `version = 2\n[plugins."io.containerd.runtime.v2.task".shims]\n"io.containerd.runc.v2" = "containerd-shim-runc-v2"\n`;

const daemons = [
  { name: "berthd with Berth's shim", start: () => startBerthd() },
  { name: "berthd with the stock shim", start: () => startBerthd({ config: stockShimConfig }) },
  { name: "stock containerd", start: () => startStockContainerd() },
];

/** A log driver as containerd documents them, writing what it is given into files named by its `log` argument. */
const driverScript = `#!/bin/sh
log="$2"
{
  echo "argv: $*"
  echo "CONTAINER_ID=$CONTAINER_ID CONTAINER_NAMESPACE=$CONTAINER_NAMESPACE HOME=\${HOME-unset}"
} > "$log.meta"
exec 5>&-
cat <&3 > "$log.out" &
cat <&4 > "$log.err"
wait
`;

describe.skipIf(!stockContainerdInstalled).each(daemons)("log URIs through $name", ({ start }) => {
  let registry: RunningRegistry;
  let daemon: RunningDaemon;
  let ctr: CtrSession;
  let image: string;
  let base: string;
  let driver: string;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
    image = `${registry.host}/library/busybox:latest`;
    daemon = (await start())!;
    base = join(daemon.root, "..");
    ctr = ctrSession(daemon, namespace);
    driver = join(base, "log-driver.sh");
    writeFileSync(driver, driverScript);
    chmodSync(driver, 0o755);
    expect((await ctr.ctr("images", "pull", "--plain-http", image)).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (daemon !== undefined) {
      await ctr.removeAll().catch(() => undefined);
      await disposeTaskDaemon(daemon, [namespace]);
    }
    await registry?.stop();
  });

  it("binary:// starts the driver with the output on fds 3 and 4, its environment and arguments, and it has read everything when run --rm returns", async () => {
    const log = join(base, "binary");
    const run = await ctr.ctr(
      "run",
      "--rm",
      "--log-uri",
      `binary://${driver}?log=${log}`,
      "--runc-root",
      ctr.runcRoot,
      image,
      "logged",
      "sh",
      "-c",
      "echo out; echo err >&2; echo more",
    );
    expect(run).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(readFileSync(`${log}.meta`, "utf8")).toBe(`argv: log ${log}\nCONTAINER_ID=logged CONTAINER_NAMESPACE=${namespace} HOME=unset\n`);
    expect(readFileSync(`${log}.out`, "utf8")).toBe("out\nmore\n");
    expect(readFileSync(`${log}.err`, "utf8")).toBe("err\n");
    expect((await ctr.ctr("containers", "ls", "-q")).stdout).toBe("");
  });
});
