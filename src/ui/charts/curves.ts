// The lines of the curve charts: one smoothed training line and one validation line per
// visible run, bounded in points, positive-only on a log axis. The seeds of a repeated variant
// are drawn as one mean line with a min–max band.

import { alignBySteps, type SeedCurve, type Spread, spreadOf, unseededName } from '../../common/seeds.ts';
import type { RunSeries } from '../state/series.ts';
import type { RunRecord } from '../state/types.ts';
import { downsample, ema, finiteOnly, positionBucketLabel, positiveOnly, type XY } from './data.ts';

export type CurveMetric = 'loss' | 'accuracy';

export interface BandPoint {
  x: number;
  lo: number;
  hi: number;
}

export interface CurveLine {
  key: string;
  runId: string;
  name: string;
  color: string;
  kind: 'train' | 'val';
  points: XY[];
  /** Seeds of a repeated variant: min–max over them at each step (the points are their mean). */
  band?: BandPoint[];
  /** How many seeds the line averages (absent for a single run). */
  seeds?: number;
}

/** Runs drawn and tabulated together: the seeds of one repeated variant of one experiment. */
export interface SeedGroup {
  key: string;
  name: string;
  runs: RunRecord[];
}

/** The runs grouped by repeated variant, in the order of their first run; other runs alone. */
export function seedGroups(runs: readonly RunRecord[]): SeedGroup[] {
  const groups = new Map<string, SeedGroup>();
  for (const run of runs) {
    const repeated = run.spec.train.repeats > 1;
    const name = repeated ? unseededName(run.spec.name) : run.spec.name;
    const key = repeated ? `${run.experimentId}\u0000${name}` : run.id;
    const g = groups.get(key);
    if (g) g.runs.push(run);
    else groups.set(key, { key, name, runs: [run] });
  }
  return [...groups.values()];
}

/** Mean line and min–max band over seeds, bounded in points and cleaned for the axis. */
function meanWithBand(
  curves: SeedCurve[],
  maxPoints: number,
  clean: (points: XY[]) => XY[],
  log: boolean,
): { points: XY[]; band: BandPoint[] } {
  const aligned = alignBySteps(curves);
  const xs = aligned.map((p) => p.step);
  const mean = downsample(
    xs,
    aligned.map((p) => p.mean),
    maxPoints,
  );
  const lo = downsample(
    xs,
    aligned.map((p) => p.min),
    maxPoints,
  );
  const hi = downsample(
    xs,
    aligned.map((p) => p.max),
    maxPoints,
  );
  const band: BandPoint[] = [];
  for (let i = 0; i < Math.min(lo.length, hi.length); i++) {
    const b = { x: lo[i].x, lo: lo[i].y, hi: hi[i].y };
    if (Number.isFinite(b.x) && Number.isFinite(b.lo) && Number.isFinite(b.hi) && (!log || b.lo > 0))
      band.push(b);
  }
  return { points: clean(mean), band };
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
  const pushRun = (run: RunRecord) => {
    const s = series[run.id];
    if (!s) return;
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
  };
  for (const group of seedGroups(runs)) {
    const mine = group.runs.filter((r) => series[r.id]);
    if (mine.length < 2) {
      mine.forEach(pushRun);
      continue;
    }
    const first = mine[0];
    const color = colors[first.id] ?? '#e6e8ee';
    const n = mine.length;
    const train = mine
      .map((r) => series[r.id].train)
      .filter((t) => t[options.metric].length > 0)
      .map((t) => ({ steps: t.step, values: ema(t[options.metric], options.smoothing) }));
    if (train.length > 0) {
      lines.push({
        key: `${group.key}:train`,
        runId: first.id,
        name: `${group.name} train (mean of ${n} seeds)`,
        color,
        kind: 'train',
        seeds: n,
        ...meanWithBand(train, options.maxPoints, clean, options.log),
      });
    }
    const val = mine
      .map((r) => series[r.id].eval)
      .filter((e) => e.length > 0)
      .map((e) => ({ steps: e.map((m) => m.step), values: e.map((m) => m[options.metric]) }));
    if (val.length > 0) {
      lines.push({
        key: `${group.key}:val`,
        runId: first.id,
        name: `${group.name} val (mean of ${n} seeds)`,
        color,
        kind: 'val',
        seeds: n,
        ...meanWithBand(val, options.maxPoints, clean, options.log),
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

export interface LatestGroupRow {
  key: string;
  name: string;
  color: string;
  /** Runs (seeds) in the row. */
  n: number;
  /** Latest step of the furthest seed. */
  step: number | null;
  trainLoss: Spread | null;
  valLoss: Spread | null;
  trainAccuracy: Spread | null;
  valAccuracy: Spread | null;
}

/** The latest numbers with the seeds of a repeated variant in one row: mean, spread and n over them. */
export function latestGroupRows(
  runs: RunRecord[],
  series: Record<string, RunSeries>,
  colors: Record<string, string>,
  smoothing: number,
): LatestGroupRow[] {
  return seedGroups(runs).map((group) => {
    const rows = latestRows(group.runs, series, colors, smoothing);
    const over = (pick: (r: LatestRow) => number | null) =>
      spreadOf(rows.map(pick).filter((v): v is number => v !== null));
    const steps = rows.map((r) => r.step).filter((v): v is number => v !== null);
    return {
      key: group.key,
      name: group.name,
      color: rows[0]?.color ?? '#e6e8ee',
      n: group.runs.length,
      step: steps.length > 0 ? Math.max(...steps) : null,
      trainLoss: over((r) => r.trainLoss),
      valLoss: over((r) => r.valLoss),
      trainAccuracy: over((r) => r.trainAccuracy),
      valAccuracy: over((r) => r.valAccuracy),
    };
  });
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
