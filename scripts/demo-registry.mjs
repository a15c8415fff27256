// Serves a busybox image (built from Debian's busybox-static) from Debian's docker-registry on
// 127.0.0.1, prints the registry's host:port, and stops the registry on SIGTERM.
import { buildBusyboxImage, pushTestImage, startRegistry } from "@berth/testkit";

const registry = await startRegistry();
await pushTestImage(buildBusyboxImage(), { url: registry.url, repository: "library/busybox", tag: "latest" });
console.log(registry.host);
const stop = async () => {
  await registry.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
setInterval(() => {}, 1 << 30);
