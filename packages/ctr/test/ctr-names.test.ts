// Every name stock ctr 1.6 lists for its commands (`ctr c rm`, `ctr t ls`, `ctr i del`) reaches the
// same Berth command as its primary name, read from stock ctr's own help.
import { fileURLToPath } from "node:url";
import { commands } from "@berth/ctr";
import { runCommand, stockCtr } from "@berth/testkit";
import { describe, expect, it } from "vitest";

const berthCtr = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const ctr = (...args: string[]) =>
  runCommand(process.execPath, [berthCtr, ...args], { env: { PATH: process.env.PATH, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } });

/** The `COMMANDS:` section of a stock help text as lists of names, primary first (`delete, del, remove, rm`). */
async function stockCommands(...path: string[]): Promise<string[][]> {
  const help = (await runCommand(stockCtr!, [...path, "--help"])).stdout;
  const section = help.split("COMMANDS:\n")[1]?.split(/\n\S/)[0] ?? "";
  return section
    .split("\n")
    .map((line) => line.trim().split(/ {2,}/)[0]!)
    .filter((names) => names !== "")
    .map((names) => names.split(", "))
    .filter((names) => names[0] !== "help");
}

/** Runs `work` over `items` with a few processes at a time. */
async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

describe("command names", () => {
  it("gives no name to two commands, and no command its own id as an alias", () => {
    const owners = new Map<string, string>();
    for (const [id, command] of Object.entries(commands)) {
      const names = [id, ...((command as { aliases?: string[] }).aliases ?? [])];
      expect(new Set(names).size, id).toBe(names.length);
      for (const name of names) {
        expect(owners.get(name), `${name} of ${id}`).toBeUndefined();
        owners.set(name, id);
      }
    }
  });

  it.skipIf(stockCtr === undefined)("answers every name stock ctr lists, as its primary name", { timeout: 180_000 }, async () => {
    const pairs: { alias: string[]; primary: string[] }[] = [];
    for (const group of await stockCommands()) {
      const [topic] = group;
      if (Object.hasOwn(commands, topic!)) {
        for (const name of group) pairs.push({ alias: [name], primary: [topic!] });
        continue;
      }
      if (!Object.keys(commands).some((id) => id.startsWith(`${topic}:`))) continue;
      for (const name of group) pairs.push({ alias: [name], primary: [topic!] }, { alias: [name, "help"], primary: [topic!] });
      for (const subcommand of await stockCommands(topic!)) {
        if (!Object.hasOwn(commands, `${topic}:${subcommand[0]}`)) continue;
        for (const name of group) {
          // `ctr snapshot list` keeps the seed's own format; `snapshot ls` is stock's.
          for (const sub of subcommand) if (`${name} ${sub}` !== "snapshot list") pairs.push({ alias: [name, sub], primary: [topic!, subcommand[0]!] });
        }
        pairs.push({ alias: ["help", group.at(-1)!, subcommand.at(-1)!], primary: [topic!, subcommand[0]!] });
      }
    }
    // What stock names `delete` first must be there under that name too.
    for (const topic of ["containers", "content", "leases", "snapshots", "images", "tasks"]) {
      expect(pairs, topic).toContainEqual({ alias: [topic, "delete"], primary: [topic, "delete"] });
      expect(pairs, topic).toContainEqual({ alias: [topic, "del"], primary: [topic, "delete"] });
    }
    expect(pairs.length).toBeGreaterThan(150);

    const helpOf = new Map<string, string>();
    const primaries = [...new Map(pairs.map((pair) => [pair.primary.join(" "), pair.primary])).values()];
    await eachLimited(primaries, async (primary) => {
      const result = await ctr(...primary, "--help");
      expect([primary.join(" "), result.code, result.stderr]).toEqual([primary.join(" "), 0, ""]);
      helpOf.set(primary.join(" "), result.stdout);
    });
    const mismatches: string[] = [];
    await eachLimited(pairs, async ({ alias, primary }) => {
      const flag = alias.includes("help") ? [] : [alias.length % 2 === 0 ? "-h" : "--help"];
      const result = await ctr(...alias, ...flag);
      if (result.code !== 0 || result.stdout !== helpOf.get(primary.join(" ")))
        mismatches.push(`${alias.join(" ")}: ${result.stderr || result.stdout.split("\n")[0]}`);
    });
    expect(mismatches).toEqual([]);
  });

  it("takes -h as a command's help only before its arguments", async () => {
    expect((await ctr("containers", "ls", "-h")).stdout).toContain("$ ctr containers list");
    // After the image and id, `-h` belongs to the container's command line (`df -h`): the run
    // proceeds and fails for want of a daemon, not with help.
    const run = await ctr("--address", "/nonexistent/berthd.sock", "--connect-timeout", "1s", "run", "img", "id", "df", "-h");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("failed to dial");
  });
});
