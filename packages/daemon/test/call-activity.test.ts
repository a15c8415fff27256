import { describe, expect, it } from "vitest";
import { CallActivity } from "@berth/daemon";

describe("CallActivity: background work waits for a pause in calls", () => {
  it("lets work run at once when no call was made", () => {
    let now = 1_000;
    const calls = new CallActivity({ quietMs: 50, maxWaitMs: 1_000, now: () => now });
    expect(calls.waitLeft(now)).toBe(0);
    now += 5;
    expect(calls.waitLeft(now - 5)).toBe(0);
  });

  it("waits until no call has started or ended for quietMs", () => {
    let now = 1_000;
    const calls = new CallActivity({ quietMs: 50, maxWaitMs: 1_000, now: () => now });
    calls.noteCall();
    const askedAt = now;
    now += 10;
    expect(calls.waitLeft(askedAt)).toBe(40);
    calls.noteCall();
    now += 10;
    expect(calls.waitLeft(askedAt)).toBe(40);
    now += 40;
    expect(calls.waitLeft(askedAt)).toBe(0);
  });

  it("runs the work maxWaitMs after it was asked for, however busy the calls", () => {
    let now = 1_000;
    const calls = new CallActivity({ quietMs: 50, maxWaitMs: 200, now: () => now });
    const askedAt = now;
    for (let step = 0; step < 19; step++) {
      calls.noteCall();
      expect(calls.waitLeft(askedAt)).toBeGreaterThan(0);
      now += 10;
    }
    calls.noteCall();
    expect(calls.waitLeft(askedAt)).toBe(10);
    now += 10;
    calls.noteCall();
    expect(calls.waitLeft(askedAt)).toBe(0);
  });

  it("quiet() resolves once the calls stop (on the real clock)", async () => {
    const calls = new CallActivity({ quietMs: 20, maxWaitMs: 60_000 });
    calls.noteCall();
    let settled = false;
    const quiet = calls.quiet().then(() => (settled = true));
    expect(settled).toBe(false);
    await quiet;
    expect(calls.waitLeft(performance.now())).toBe(0);
  });
});
