// Metrics in a manifest stay bounded: a run of a million steps must not write a million
// rows into every checkpoint (disk would grow with steps²). The manifest keeps the recent
// history in full and a thinned-out, evenly spaced sample of the older part; the full log
// goes to the store's per-run metrics log (see CheckpointStore.appendLog).

/** Rows of each history (steps, evals) a manifest keeps at most. */
export const MANIFEST_HISTORY = 4096;

/**
 * At most `max` items: the most recent half in full, and the older part sampled at even
 * spacing (its first item always kept, so a curve starts where the run did).
 */
export function boundHistory<T>(items: readonly T[], max = MANIFEST_HISTORY): T[] {
  if (items.length <= max) return items.slice();
  const recent = Math.floor(max / 2);
  const older = items.length - recent;
  const slots = max - recent;
  const out: T[] = [];
  for (let i = 0; i < slots; i++) out.push(items[Math.floor((i * older) / slots)]);
  for (let i = older; i < items.length; i++) out.push(items[i]);
  return out;
}

/** One JSON line per row: what a metrics log holds. */
export function logLines(kind: 'step' | 'eval', rows: readonly object[]): string {
  let text = '';
  for (const row of rows) text += `${JSON.stringify({ kind, ...row })}\n`;
  return text;
}

/** The rows after `step` of a history in step order, found from the end: O(rows returned). */
export function rowsAfter<T extends { step: number }>(rows: readonly T[], step: number): T[] {
  let i = rows.length;
  while (i > 0 && rows[i - 1].step > step) i--;
  return rows.slice(i);
}
