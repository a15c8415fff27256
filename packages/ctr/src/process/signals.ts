import { constants } from "node:os";

/** moby's signal.ParseSignal, which ctr uses: a number, or a name with or without SIG, any case. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const name = `SIG${text.toUpperCase().replace(/^SIG/, "")}` as keyof typeof constants.signals;
  const number = constants.signals[name];
  if (number === undefined) throw new Error(`Invalid signal: ${text}`);
  return number;
}

/** The signals passed on to a task ctr waits for (ctr passes all it catches; these are the ones users send). */
export const forwardedSignals: NodeJS.Signals[] = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2"];
