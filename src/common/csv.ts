// CSV cells and rows as RFC 4180 wants them; shared by the UI's metrics export and the CLI.

/** One cell: fields with a comma, quote or line break are quoted, quotes doubled; non-finite numbers are empty. */
export function csvField(value: string | number | undefined | null): string {
  if (value === undefined || value === null) return '';
  const s = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row (without its line break). */
export function csvRow(cells: ReadonlyArray<string | number | undefined | null>): string {
  return cells.map(csvField).join(',');
}
