import { setFlagsFromString } from "node:v8";

// Keeps V8's young generation at its initial 1 MB per semi-space instead of letting it grow to
// 16 MB: berthd's calls allocate little that outlives a request, so scavenges stay cheap
// (Namespaces.Get latency unchanged) while idle RSS drops by ~9 MB and RSS after a burst of calls
// by ~110 MB. `--max-semi-space-size` is a node flag the daemon cannot give itself; the growth
// factor is read at every scavenge. Set before the daemon's modules load, which is when it grows.
setFlagsFromString("--semi-space-growth-factor=1");
// The bytes clients stream in (a pulled layer, 1 MiB per Content write) arrive as ArrayBuffers that
// count against V8's old-generation limit: with the default heap growth, a ~15 MB heap ran a full
// mark-compact every few MB written (a third of the daemon's CPU in a pull). Doubling halves that
// cost for ~11 MB more RSS after a pull (measured ~118 MB instead of ~107 MB); 300% saved twice as
// much CPU but left ~150 MB, and a daemon's memory is what its host keeps paying for.
setFlagsFromString("--heap-growing-percent=100");
// `berthd … publish …` (how the runtime v1 shim reports events) needs none of the daemon's modules.
const { publishCommand, publishRequestOf } = await import("./publish.js");
const publishRequest = publishRequestOf(process.argv.slice(2));
if (publishRequest !== undefined) await publishCommand(publishRequest);
else await import("./cli.js");
