/** `google.protobuf.Timestamp` as the generated code has it (known-types.ts checks that they match). */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** Go's zero time.Time on the wire; containerd sends it for "not yet" (e.g. exited_at of a live task). */
export const goZeroTime: Timestamp = Object.freeze({ seconds: -62135596800, nanos: 0 });

export function isZeroTime(ts: Timestamp | undefined): boolean {
  return ts === undefined || (ts.seconds === goZeroTime.seconds && ts.nanos === 0) || (ts.seconds === 0 && ts.nanos === 0);
}

/** The wall clock with microsecond resolution, which Date alone does not give. */
export function nowTimestamp(): Timestamp {
  const micros = Math.round((performance.timeOrigin + performance.now()) * 1000);
  return { seconds: Math.floor(micros / 1e6), nanos: (micros % 1e6) * 1000 };
}

export function timestampFromDate(date: Date): Timestamp {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (((ms % 1000) + 1000) % 1000) * 1e6 };
}

export function dateFromTimestamp(ts: Timestamp): Date {
  return new Date(ts.seconds * 1000 + Math.floor(ts.nanos / 1e6));
}
