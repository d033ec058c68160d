// The lines of the curve charts: one smoothed training line and one validation line per
// visible run, bounded in points, positive-only on a log axis.

import type { RunSeries } from '../state/series.ts';
import type { RunRecord } from '../state/types.ts';
import { downsample, ema, finiteOnly, positionBucketLabel, positiveOnly, type XY } from './data.ts';

export type CurveMetric = 'loss' | 'accuracy';

export interface CurveLine {
  key: string;
  runId: string;
  name: string;
  color: string;
  kind: 'train' | 'val';
  points: XY[];
}

export interface CurveOptions {
  metric: CurveMetric;
  /** EMA weight in [0, 1). */
  smoothing: number;
  log: boolean;
  /** Points per line at most. */
  maxPoints: number;
}

export function curveLines(
  runs: RunRecord[],
  series: Record<string, RunSeries>,
  colors: Record<string, string>,
  options: CurveOptions,
): CurveLine[] {
  const lines: CurveLine[] = [];
  const clean = options.log ? positiveOnly : finiteOnly;
  for (const run of runs) {
    const s = series[run.id];
    if (!s) continue;
    const color = colors[run.id] ?? '#e6e8ee';
    const values = s.train[options.metric];
    if (values.length > 0) {
      const smoothed = ema(values, options.smoothing);
      lines.push({
        key: `${run.id}:train`,
        runId: run.id,
        name: `${run.spec.name} train`,
        color,
        kind: 'train',
        points: clean(downsample(s.train.step, smoothed, options.maxPoints)),
      });
    }
    if (s.eval.length > 0) {
      lines.push({
        key: `${run.id}:val`,
        runId: run.id,
        name: `${run.spec.name} val`,
        color,
        kind: 'val',
        points: clean(
          downsample(
            s.eval.map((e) => e.step),
            s.eval.map((e) => e[options.metric]),
            options.maxPoints,
          ),
        ),
      });
    }
  }
  return lines;
}

export interface PositionLossData {
  rows: Array<Record<string, number | string>>;
  runIds: string[];
}

/** Latest per-position loss of each run that reports it (text tasks), one row per bucket. */
export function positionLoss(runs: RunRecord[], series: Record<string, RunSeries>): PositionLossData {
  const latest: Array<{ id: string; values: number[] }> = [];
  for (const run of runs) {
    const evals = series[run.id]?.eval ?? [];
    for (let i = evals.length - 1; i >= 0; i--) {
      const v = evals[i].lossByPosition;
      if (v && v.length > 0) {
        latest.push({ id: run.id, values: v });
        break;
      }
    }
  }
  const buckets = Math.max(0, ...latest.map((l) => l.values.length));
  const rows: Array<Record<string, number | string>> = [];
  for (let b = 0; b < buckets; b++) {
    const row: Record<string, number | string> = { bucket: positionBucketLabel(b) };
    for (const l of latest) if (Number.isFinite(l.values[b])) row[l.id] = l.values[b];
    rows.push(row);
  }
  return { rows, runIds: latest.map((l) => l.id) };
}

export interface LatestRow {
  runId: string;
  name: string;
  color: string;
  step: number | null;
  trainLoss: number | null;
  valLoss: number | null;
  trainAccuracy: number | null;
  valAccuracy: number | null;
}

/** Latest (smoothed) numbers of each run for the table under the charts. */
export function latestRows(
  runs: RunRecord[],
  series: Record<string, RunSeries>,
  colors: Record<string, string>,
  smoothing: number,
): LatestRow[] {
  return runs.map((run) => {
    const s = series[run.id];
    const t = s?.train;
    const n = t?.step.length ?? 0;
    const last = (values: number[]) => (values.length > 0 ? ema(values, smoothing)[values.length - 1] : null);
    const e = s?.eval[s.eval.length - 1];
    return {
      runId: run.id,
      name: run.spec.name,
      color: colors[run.id] ?? '#e6e8ee',
      step: n > 0 ? t!.step[n - 1] : null,
      trainLoss: t ? last(t.loss) : null,
      valLoss: e ? e.loss : null,
      trainAccuracy: t ? last(t.accuracy) : null,
      valAccuracy: e ? e.accuracy : null,
    };
  });
}
