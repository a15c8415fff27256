/**
 * Lays out rows as Go's text/tabwriter does with the settings ctr uses (minwidth 1, padding 1,
 * space padding, no flags): every tab-terminated cell is padded to its column's widest cell plus
 * one; text after the last tab is not part of a column. ctr's tables give every row the same cells,
 * so one width per column equals Go's block-by-block layout. Hand-written because ctr's exact
 * spacing (including trailing spaces) is what users and scripts compare against.
 */
export function tabwriter(lines: readonly string[], minWidth = 1, padding = 1, padChar: " " | "\t" = " ", tabWidth = 8): string {
  const rows = lines.map((line) => line.split("\t"));
  const widths: number[] = [];
  for (const cells of rows) {
    cells.slice(0, -1).forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? minWidth, [...cell].length + padding);
    });
  }
  // With tab padding Go rounds each column up to whole tab stops and pads with tabs.
  if (padChar === "\t") widths.forEach((width, column) => (widths[column] = Math.ceil(width / tabWidth) * tabWidth));
  const pad = (cell: string, width: number) => {
    const missing = width - [...cell].length;
    return padChar === " " ? cell + " ".repeat(missing) : cell + "\t".repeat(Math.ceil(missing / tabWidth));
  };
  return rows
    .map((cells) => cells.map((cell, column) => (column < cells.length - 1 ? pad(cell, widths[column]!) : cell)).join(""))
    .map((line) => `${line}\n`)
    .join("");
}
