// The runs list as a table: sorted by a column, filtered by text. Pure functions over the
// records and their series, so the order is testable without a page.

import type { RunSeries } from './series.ts';
import type { RunRecord } from './types.ts';

export const RUN_SORT_KEYS = [
  'experiment',
  'name',
  'variant',
  'status',
  'step',
  'loss',
  'accuracy',
  'valLoss',
  'valAccuracy',
] as const;
export type RunSortKey = (typeof RUN_SORT_KEYS)[number];

export const RUN_SORT_LABELS: Record<RunSortKey, string> = {
  experiment: 'experiment (newest first)',
  name: 'name',
  variant: 'variant',
  status: 'status',
  step: 'step',
  loss: 'training loss',
  accuracy: 'training accuracy',
  valLoss: 'validation loss',
  valAccuracy: 'validation accuracy',
};

/** Active runs first, then the ones that need attention, then the settled ones. */
const STATUS_ORDER: RunRecord['status'][] = [
  'running',
  'queued',
  'paused',
  'interrupted',
  'failed',
  'stopped',
  'finished',
];

function last(values: readonly number[] | undefined): number | null {
  return values && values.length > 0 ? values[values.length - 1] : null;
}

/** The value a run is sorted by (null: it has none yet, and goes last either way). */
export function sortValue(
  run: RunRecord,
  series: RunSeries | undefined,
  key: RunSortKey,
): number | string | null {
  const evals = series?.eval;
  const lastEval = evals && evals.length > 0 ? evals[evals.length - 1] : undefined;
  switch (key) {
    case 'experiment':
      return run.createdAt;
    case 'name':
      return run.spec.name;
    case 'variant':
      return run.spec.model.variant;
    case 'status':
      return STATUS_ORDER.indexOf(run.status);
    case 'step':
      return run.step;
    case 'loss':
      return last(series?.train.loss);
    case 'accuracy':
      return last(series?.train.accuracy);
    case 'valLoss':
      return lastEval?.loss ?? null;
    case 'valAccuracy':
      return lastEval?.accuracy ?? null;
  }
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** The runs ordered by `key` (ties keep their order); runs without a value go last. */
export function sortRuns(
  runs: readonly RunRecord[],
  series: Record<string, RunSeries>,
  key: RunSortKey,
  descending: boolean,
): RunRecord[] {
  const keyed = runs.map((run, i) => ({ run, i, v: sortValue(run, series[run.id], key) }));
  keyed.sort((a, b) => {
    const missingA = a.v === null || (typeof a.v === 'number' && !Number.isFinite(a.v));
    const missingB = b.v === null || (typeof b.v === 'number' && !Number.isFinite(b.v));
    if (missingA || missingB) return missingA === missingB ? a.i - b.i : missingA ? 1 : -1;
    const c =
      typeof a.v === 'string' || typeof b.v === 'string'
        ? collator.compare(String(a.v), String(b.v))
        : (a.v as number) - (b.v as number);
    return (descending ? -c : c) || a.i - b.i;
  });
  return keyed.map((k) => k.run);
}

/** Runs whose name, variant or status contains every word of `text` (any case). */
export function filterRuns(runs: readonly RunRecord[], text: string): RunRecord[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...runs];
  return runs.filter((run) => {
    const hay = `${run.spec.name} ${run.spec.model.variant} ${run.status}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}
