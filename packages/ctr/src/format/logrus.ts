import { rfc3339Seconds } from "./go-values.js";

// logrus quotes a value unless it is made of these characters only.
const bare = /^[A-Za-z0-9\-._/@^+]+$/;
const quote = (value: string) => (bare.test(value) ? value : JSON.stringify(value));

/**
 * A line as ctr's logrus writes it to a non-terminal stderr:
 * `time="2017-06-23T23:21:30Z" level=error msg="unable to delete c3" error="…"`.
 */
export function logrusLine(level: "warning" | "error" | "info", message: string, fields: Readonly<Record<string, string>> = {}): string {
  const extra = Object.entries(fields).map(([key, value]) => ` ${key}=${quote(value)}`);
  return `time=${quote(rfc3339Seconds())} level=${level} msg=${quote(message)}${extra.join("")}\n`;
}
