import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { LocalContentStore, readBlob } from "@berth/content";
import { describe, expect, it } from "vitest";
import { exited, kindOfFailure, randomData, sha256, sha256Hex, spawnIdle, useChildren, useTempRoot, waitForLine } from "./fixtures.js";

const context = {};
const builtEntry = fileURLToPath(new URL("../dist/index.js", import.meta.url));

/** Opens a writer, writes the first `half` bytes of the payload file, says "ready", and waits to be killed. */
const halfWriterScript = `
import { readFileSync } from "node:fs";
import { LocalContentStore } from ${JSON.stringify(pathToFileURL(builtEntry).href)};
const [root, ref, payload, half] = process.argv.slice(2);
const data = readFileSync(payload);
const writer = await new LocalContentStore(root).writer({}, { ref, total: data.length });
await writer.write(data.subarray(0, Number(half)));
process.stdout.write("ready\\n");
setInterval(() => {}, 1000);
`;

function ownStartTime(): string {
  const stat = readFileSync("/proc/self/stat", "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
}

describe("ref locks across processes", () => {
  const root = useTempRoot();
  const track = useChildren();
  const lockPath = (ref: string) => join(root(), "ingest", sha256Hex(ref), "lock");

  /** An ingest with some bytes and no holder. */
  async function leaveIngest(ref: string, size = 10): Promise<void> {
    const writer = await new LocalContentStore(root()).writer(context, { ref });
    await writer.write(randomData(size));
    await writer.close();
  }

  it("resumes an ingest whose writer process was killed with SIGKILL, taking over its stale lock", async () => {
    const data = randomData(3 * 1024 * 1024 + 5);
    const half = 1024 * 1024 + 777;
    const ref = "layer-killed";
    const payload = join(root(), "payload");
    const script = join(root(), "half-writer.mjs");
    writeFileSync(payload, data);
    writeFileSync(script, halfWriterScript);
    const child = track(spawn(process.execPath, [script, join(root(), "store"), ref, payload, String(half)], { stdio: ["ignore", "pipe", "pipe"] }));
    await waitForLine(child, "ready");
    child.kill("SIGKILL");
    await exited(child);
    expect(child.signalCode).toBe("SIGKILL");

    const store = new LocalContentStore(join(root(), "store"));
    const stale = readFileSync(join(root(), "store", "ingest", sha256Hex(ref), "lock"), "utf8");
    expect(stale.split(" ")[0]).toBe(String(child.pid)); // it died holding the lock
    expect(await store.status(context, ref)).toMatchObject({ ref, offset: half, total: data.byteLength });

    const writer = await store.writer(context, { ref });
    expect((await writer.status()).offset).toBe(half);
    expect(await writer.digest()).toBe(sha256(data.subarray(0, half)));
    await writer.write(data.subarray(half), half);
    await writer.commit(data.byteLength, sha256(data));
    expect(await readBlob(store, context, sha256(data))).toEqual(Buffer.from(data));
  });

  it("lets only one of two store instances on one root hold a ref while the holder lives", async () => {
    const one = new LocalContentStore(root());
    const two = new LocalContentStore(root());
    const held = await one.writer(context, { ref: "shared" });
    expect(await kindOfFailure(() => two.writer(context, { ref: "shared" }))).toBe("Unavailable");
    await held.write(randomData(7));
    await held.close();

    const taken = await two.writer(context, { ref: "shared" });
    expect((await taken.status()).offset).toBe(7);
    expect(await kindOfFailure(() => one.writer(context, { ref: "shared" }))).toBe("Unavailable");
    await taken.close();
    expect(existsSync(lockPath("shared"))).toBe(false);
  });

  it("gives a ref to exactly one of many concurrent writers across instances, also when they race to take over a stale lock", async () => {
    const stores = [new LocalContentStore(root()), new LocalContentStore(root()), new LocalContentStore(root())];
    await leaveIngest("contended");
    for (let round = 0; round < 6; round++) {
      // odd rounds start from a stale lock (its owner is long gone), which every contender sees
      if (round % 2 === 1) writeFileSync(lockPath("contended"), `999999999 1 round${round}\n`);
      const attempts = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => stores[i % 3]!.writer(context, { ref: "contended" })));
      const winners = attempts.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
      const kinds = await Promise.all(attempts.flatMap((a) => (a.status === "rejected" ? [kindOfFailure(() => Promise.reject(a.reason))] : [])));
      for (const winner of winners) await winner.close();
      expect(winners, `round ${round}`).toHaveLength(1);
      expect(new Set(kinds)).toEqual(new Set(["Unavailable"]));
    }
  });

  it("honours a lock naming another live process, and takes it over once that process is gone", async () => {
    await leaveIngest("foreign");
    const idle = track(spawnIdle());
    await new Promise((resolve) => idle.once("spawn", resolve));
    writeFileSync(lockPath("foreign"), `${idle.pid}\n`); // a bare pid, as another tool might write
    const store = new LocalContentStore(root());
    expect(await kindOfFailure(() => store.writer(context, { ref: "foreign" }))).toBe("Unavailable");
    expect(await kindOfFailure(() => store.abort(context, "foreign"))).toBe("Unavailable");

    idle.kill("SIGKILL");
    await exited(idle);
    const writer = await store.writer(context, { ref: "foreign" });
    expect((await writer.status()).offset).toBe(10);
    expect(readFileSync(lockPath("foreign"), "utf8").split(" ")[0]).toBe(String(process.pid));
    await writer.close();
  });

  it("takes over a lock whose owner is a zombie (killed, not yet reaped by its parent)", async () => {
    await leaveIngest("zombie");
    // sh forks a short sleep and then becomes a long one, which never reaps it: once the short
    // sleep ends (after the exec, so sh cannot reap it either) it stays a zombie
    const parent = track(spawn("sh", ["-c", "sleep 0.2 & echo $!; exec sleep 60"], { stdio: ["ignore", "pipe", "ignore"] }));
    const pid = await new Promise<string>((resolve) => parent.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim())));
    const state = async () => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    for (let i = 0; i < 100 && (await state()) !== "Z"; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await state()).toBe("Z");
    writeFileSync(lockPath("zombie"), `${pid}\n`);
    await (await new LocalContentStore(root()).writer(context, { ref: "zombie" })).close();
  });

  it("tells a live owner from a reused pid by its start time, and treats a garbled lock as stale", async () => {
    const store = new LocalContentStore(root());
    await leaveIngest("live");
    writeFileSync(lockPath("live"), `${process.pid} ${ownStartTime()} cafe\n`);
    expect(await kindOfFailure(() => store.writer(context, { ref: "live" }))).toBe("Unavailable");

    await leaveIngest("reused");
    writeFileSync(lockPath("reused"), `${process.pid} 1 cafe\n`); // our pid, but a process that started at boot
    await (await store.writer(context, { ref: "reused" })).close();

    await leaveIngest("garbled");
    writeFileSync(lockPath("garbled"), "not a lock");
    await store.abort(context, "garbled");
    expect(await kindOfFailure(() => store.status(context, "garbled"))).toBe("NotFound");
  });
});
