import { hoistGlobalOptions, tabwriter } from "@berth/cli-kit";
import { goJson, goTimeString } from "@berth/ctr";
import { describe, expect, it } from "vitest";

describe("ctr's Go-compatible formatting", () => {
  it("pads tab-terminated cells to the widest plus padding, as text/tabwriter", () => {
    expect(tabwriter(["NAME\tLABELS\t", "foo\tmylabel=bar\t"])).toBe("NAME LABELS      \nfoo  mylabel=bar \n");
    expect(tabwriter(["A\tB", "long\tx"], 4, 4)).toBe("A       B\nlong    x\n");
    expect(tabwriter(["né\tx\t", "n\ty\t"])).toBe("né x \nn  y \n");
  });

  it("prints times as Go's time.Time.String, trailing zeros trimmed", () => {
    expect(goTimeString({ seconds: 1498260090, nanos: 271802153 })).toBe("2017-06-23 23:21:30.271802153 +0000 UTC");
    expect(goTimeString({ seconds: 1498260090, nanos: 270000000 })).toBe("2017-06-23 23:21:30.27 +0000 UTC");
    expect(goTimeString({ seconds: 1498260090, nanos: 0 })).toBe("2017-06-23 23:21:30 +0000 UTC");
  });

  it("writes events as Go's encoding/json: proto names, no empty fields, label keys untouched", () => {
    expect(goJson({ containerId: "c1", id: "", pid: 7, exitStatus: 0, exitedAt: { seconds: 1501280391, nanos: 832013043 } })).toEqual({
      container_id: "c1",
      pid: 7,
      exited_at: "2017-07-28T22:19:51.832013043Z",
    });
    expect(goJson({ name: "foo", labels: { "containerd.io/gc.rootKey": "x" } })).toEqual({ name: "foo", labels: { "containerd.io/gc.rootKey": "x" } });
    expect(goJson({ name: "foo", labels: {} })).toEqual({ name: "foo" });
  });

  it("takes ctr's global options off the front of argv into the environment", () => {
    const env: NodeJS.ProcessEnv = {};
    expect(hoistGlobalOptions(["-a", "/s.sock", "--namespace=foo", "--debug", "namespaces", "ls", "-n", "x"], env)).toEqual(["namespaces", "ls", "-n", "x"]);
    expect(env).toEqual({ CONTAINERD_ADDRESS: "/s.sock", CONTAINERD_NAMESPACE: "foo", BERTH_CTR_DEBUG: "true" });
    expect(hoistGlobalOptions(["version", "-a", "x"], {})).toEqual(["version", "-a", "x"]);
  });
});
