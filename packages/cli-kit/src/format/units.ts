/** Sizes as docker/go-units' HumanSize writes them: decimal units, 4 significant digits (6B, 35.65MB). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${Number(size.toPrecision(4))}${units[unit]}`;
}

/** Durations as go-units' HumanDuration: "Less than a second", "About a minute", "3 days", … */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.floor(milliseconds / 1000);
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(milliseconds / 3_600_000 + 0.5);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(milliseconds / 3_600_000 / 24 / 365)} years`;
}

/** Labels as ctr lists them: sorted `key=value` joined by commas, or "-" for none. */
export function labelList(labels: Readonly<Record<string, string>>, none = "-"): string {
  const pairs = Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .sort();
  return pairs.length === 0 ? none : pairs.join(",");
}

/** Sizes as containerd's progress.Bytes writes them: binary units, one decimal (19.0 B, 2.5 MiB). */
export function progressBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${size.toFixed(1).padStart(2, "0")} ${units[unit]}`;
}
