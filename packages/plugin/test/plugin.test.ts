import {
  type Plugin,
  type PluginOutcome,
  PluginCycleError,
  PluginNotFoundError,
  SkipPlugin,
  closePlugins,
  getPlugin,
  isSkipPlugin,
  loadPlugins,
  orderPlugins,
  pluginType,
} from "@berth/plugin";
import { describe, expect, expectTypeOf, it } from "vitest";

const plugin = (type: string, id: string, requires: string[] = [], init: Plugin["init"] = () => ({ id })): Plugin => ({ type, id, requires, init });

/** Loads with no host facts, under a root and state nothing is written to. */
const load = <H>(plugins: readonly Plugin<any, any, H>[], host: () => H, more: { config?: Record<string, object>; disabled?: string[] } = {}) =>
  loadPlugins(plugins, { root: "/r", state: "/s", host, ...more });

const statusOf = (outcomes: readonly PluginOutcome[]) =>
  outcomes.map(({ plugin, error }) => `${plugin.id}:${error === undefined ? "ok" : isSkipPlugin(error) ? "skip" : "error"}`);

describe("orderPlugins", () => {
  it("puts each plugin after every plugin of each type it requires, '*' last, and keeps registration order otherwise", () => {
    const ordered = orderPlugins([
      plugin("t.grpc", "all", ["*"]),
      plugin("t.grpc", "svc", ["t.service"]),
      plugin("t.service", "one", ["t.metadata", "t.event"]),
      plugin("t.metadata", "lmdb"),
      plugin("t.event", "exchange"),
      plugin("t.other", "late"),
    ]);
    expect(ordered.map((p) => p.id)).toEqual(["lmdb", "exchange", "one", "svc", "late", "all"]);
  });

  it("places a '*' plugin after what it requires by name even when that also requires '*'", () => {
    const ordered = orderPlugins([plugin("t.a", "first", ["*", "t.b"]), plugin("t.b", "second", ["*"]), plugin("t.c", "plain")]);
    expect(ordered.map((p) => p.id)).toEqual(["plain", "second", "first"]);
  });

  it("refuses a dependency cycle with PluginCycleError naming the cycle", () => {
    const attempt = () => orderPlugins([plugin("t.a", "1", ["t.b"]), plugin("t.b", "1", ["t.c"]), plugin("t.c", "1", ["t.a"])]);
    expect(attempt).toThrow(PluginCycleError);
    expect(attempt).toThrow("plugin dependency cycle: t.a.1 -> t.b.1 -> t.c.1 -> t.a.1");
    expect(() => attempt()).toThrow(expect.objectContaining({ kind: "FailedPrecondition", path: ["t.a.1", "t.b.1", "t.c.1", "t.a.1"] }));
  });

  it("lets a plugin require its own type without a cycle", () => {
    expect(orderPlugins([plugin("t.grpc", "cri", ["t.grpc"]), plugin("t.grpc", "version")]).map((p) => p.id)).toEqual(["version", "cri"]);
  });
});

describe("loadPlugins", () => {
  it("records a plugin that skips itself as skipped, one that fails as failed, and loads the rest", async () => {
    const told: string[] = [];
    const outcomes = await loadPlugins(
      [
        plugin("t.snapshotter", "fakefs", [], () => {
          throw new SkipPlugin("path /x must be a btrfs filesystem to be used with the btrfs snapshotter");
        }),
        plugin("t.internal", "broken", [], () => {
          throw new Error("cannot open device");
        }),
        plugin("t.internal", "fine"),
      ],
      { root: "/r", state: "/s", host: () => ({}), onOutcome: ({ plugin }, skipped) => told.push(`${plugin.id}:${skipped}`) },
    );
    expect(statusOf(outcomes)).toEqual(["fakefs:skip", "broken:error", "fine:ok"]);
    expect(told).toEqual(["fakefs:true", "broken:false", "fine:false"]);
    expect(outcomes[0]!.error!.message).toBe("path /x must be a btrfs filesystem to be used with the btrfs snapshotter: skip plugin");
    expect((outcomes[0]!.error as SkipPlugin).reason).toBe("path /x must be a btrfs filesystem to be used with the btrfs snapshotter");
    expect(outcomes[2]!.instance).toEqual({ id: "fine" });
  });

  it("gives each plugin its directories, its config over its defaults, its exports and the host's facts", async () => {
    const seen: unknown[] = [];
    const configured: Plugin<void, { size: number; name: string }, { readonly facts: string }> = {
      type: "t.store",
      id: "one",
      config: { size: 1, name: "default" },
      init: ({ root, state, config, facts, exports }) => {
        exports.root = root;
        seen.push({ root, state, config, facts });
      },
    };
    const outcomes = await load([configured, plugin("t.store", "off")], () => ({ facts: "from the host" }), {
      config: { "t.store.one": { size: 2 } },
      disabled: ["t.store.off"],
    });
    expect(seen).toEqual([{ root: "/r/t.store.one", state: "/s/t.store.one", config: { size: 2, name: "default" }, facts: "from the host" }]);
    expect(outcomes.map((o) => o.plugin.id)).toEqual(["one"]);
    expect(outcomes[0]!.exports).toEqual({ root: "/r/t.store.one" });
  });

  it("closes what loaded, last first, past a close that fails", async () => {
    const closed: string[] = [];
    const closing = (id: string, fail = false): Plugin<string> => ({
      type: "t.x",
      id,
      init: () => id,
      close: (instance) => {
        closed.push(instance);
        if (fail) throw new Error(`${id} would not close`);
      },
    });
    const failing: Plugin<string> = { ...closing("never"), init: () => Promise.reject(new Error("no")) };
    const outcomes = await load([closing("a"), closing("b", true), failing, closing("c")], () => ({}));
    const errors: string[] = [];
    await closePlugins(outcomes, ({ plugin }, error) => errors.push(`${plugin.id}: ${(error as Error).message}`));
    expect(closed).toEqual(["c", "b", "a"]);
    expect(errors).toEqual(["b: b would not close"]);
  });
});

describe("lookup between plugins", () => {
  interface Counter {
    count(): number;
  }
  const counterType = pluginType<Counter>("t.counter");

  it("gives the instance of a plugin by typed type, and by id among several", async () => {
    const counter = (id: string, value: number): Plugin<Counter> => ({ type: counterType, id, init: () => ({ count: () => value }) });
    let found: { first: number; second: number; all: string[] } | undefined;
    const user: Plugin<void> = {
      type: "t.user",
      id: "user",
      requires: [counterType],
      init: ({ get, getAll }) => {
        expectTypeOf(get(counterType)).toEqualTypeOf<Counter>();
        expectTypeOf(getAll(counterType)).toEqualTypeOf<ReadonlyMap<string, Counter>>();
        found = { first: get(counterType).count(), second: get(counterType, "two").count(), all: [...getAll(counterType).keys()] };
      },
    };
    const outcomes = await load([user, counter("one", 1), counter("two", 2)], () => ({}));
    expect(statusOf(outcomes)).toEqual(["one:ok", "two:ok", "user:ok"]);
    expect(found).toEqual({ first: 1, second: 2, all: ["one", "two"] });
    expect(getPlugin(outcomes, counterType, "two").count()).toBe(2);
  });

  it("throws PluginNotFoundError (NotFound) for a type nothing registered, and an empty map from getAll", async () => {
    let sizes: number | undefined;
    const outcomes = await load(
      [
        plugin("t.user", "user", [], ({ get, getAll }) => {
          sizes = getAll(counterType).size;
          return get(counterType, "missing");
        }),
      ],
      () => ({}),
    );
    expect(sizes).toBe(0);
    const error = outcomes[0]!.error as PluginNotFoundError;
    expect(error).toBeInstanceOf(PluginNotFoundError);
    expect(error).toMatchObject({ kind: "NotFound", type: "t.counter", id: "missing", message: "no plugin t.counter.missing is loaded" });
  });

  it("says why when the plugin asked for skipped itself or failed; what needs a skipped plugin skips too, as in containerd", async () => {
    const outcomes = await load(
      [
        plugin("t.counter", "skipper", [], () => {
          throw new SkipPlugin("needs a Windows host");
        }),
        plugin("t.user", "user", ["t.counter"], ({ get }) => get(counterType)),
      ],
      () => ({}),
    );
    expect(statusOf(outcomes)).toEqual(["skipper:skip", "user:skip"]);
    expect(outcomes[1]!.error).toMatchObject({ kind: "NotFound", message: "no plugin t.counter is loaded: needs a Windows host: skip plugin" });
    expect(() => getPlugin(outcomes, counterType)).toThrow(PluginNotFoundError);
    const failed = await load(
      [plugin("t.counter", "broken", [], () => Promise.reject(new Error("cannot open device"))), plugin("t.user", "user", [], ({ get }) => get(counterType))],
      () => ({}),
    );
    expect(statusOf(failed)).toEqual(["broken:error", "user:error"]);
    expect(failed[1]!.error).toMatchObject({ kind: "NotFound", message: "no plugin t.counter is loaded: cannot open device" });
  });
});
