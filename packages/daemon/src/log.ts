import { pino, type Logger } from "pino";

export type { Logger };

/** containerd's level names; "panic" has no pino twin and logs as fatal. */
export const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "panic"] as const;

/** JSON lines on stderr, as containerd logs with --log-format json. */
export function createLogger(level: string): Logger {
  if (!(logLevels as readonly string[]).includes(level)) {
    throw new Error(`--log-level: unknown level ${JSON.stringify(level)}; use one of ${logLevels.join(", ")}`);
  }
  return pino(
    {
      level: level === "panic" ? "fatal" : level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
