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

export interface MergedCurves {
  /** One row per x (step), with a column per line key; missing values are absent. */
  rows: Array<Record<string, number>>;
  lines: Array<Omit<CurveLine, 'points'>>;
}

/**
 * All lines in one table, as the chart wants it (one data set instead of one per line, so
 * the chart updates once per refresh instead of once per line). Training lines are averaged
 * onto a shared grid of `maxPoints` steps over the longest run; validation points keep
 * their exact steps.
 */
export function mergeCurves(lines: CurveLine[], maxPoints: number): MergedCurves {
  const xmax = Math.max(
    0,
    ...lines.flatMap((l) => (l.points.length > 0 ? [l.points[l.points.length - 1].x] : [])),
  );
  const buckets = Math.max(1, maxPoints);
  const width = xmax > 0 ? xmax / buckets : 1;
  const rows = new Map<number, Record<string, number>>();
  const row = (x: number) => {
    let r = rows.get(x);
    if (!r) {
      r = { x };
      rows.set(x, r);
    }
    return r;
  };
  for (const l of lines) {
    if (l.kind === 'val' || l.points.length <= buckets) {
      for (const p of l.points) row(p.x)[l.key] = p.y;
      continue;
    }
    const sums = new Float64Array(buckets + 1);
    const xs = new Float64Array(buckets + 1);
    const counts = new Uint32Array(buckets + 1);
    for (const p of l.points) {
      const b = Math.min(buckets, Math.floor(p.x / width));
      sums[b] += p.y;
      xs[b] = Math.max(xs[b], p.x);
      counts[b]++;
    }
    for (let b = 0; b <= buckets; b++) {
      if (counts[b] === 0) continue;
      // Grid x (shared by all long lines), except the last bucket which ends at the line's last step.
      const x =
        b === buckets || xs[b] === l.points[l.points.length - 1].x ? xs[b] : Math.round((b + 0.5) * width);
      row(x)[l.key] = sums[b] / counts[b];
    }
  }
  return {
    rows: [...rows.values()].sort((a, b) => a.x - b.x),
    lines: lines.map(({ points: _p, ...meta }) => meta),
  };
}
