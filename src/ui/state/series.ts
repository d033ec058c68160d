// Per-run metric series. Training curves are kept column-wise and bounded: past
// `maxPoints`, neighbouring points are averaged pairwise and later points are averaged in
// groups of the same size, so a very long run costs bounded memory and chart time.

import type { EvalMetrics, StepMetrics } from '../../gpu/train/protocol.ts';

export const TRAIN_COLUMNS = ['loss', 'accuracy', 'lr', 'gradNorm', 'tokensPerSecond'] as const;
export type TrainColumn = (typeof TRAIN_COLUMNS)[number];

export interface TrainSeries {
  step: number[];
  loss: number[];
  accuracy: number[];
  lr: number[];
  gradNorm: number[];
  tokensPerSecond: number[];
  /** How many steps each stored point averages (1 until the series was compacted). */
  stride: number;
  /** Points received but not yet stored (fewer than `stride` of them). */
  pending: { count: number; step: number; sums: number[] };
}

export interface RunSeries {
  train: TrainSeries;
  eval: EvalMetrics[];
}

export const MAX_TRAIN_POINTS = 20_000;
export const MAX_EVAL_POINTS = 5_000;

export function emptySeries(): RunSeries {
  return {
    train: {
      step: [],
      loss: [],
      accuracy: [],
      lr: [],
      gradNorm: [],
      tokensPerSecond: [],
      stride: 1,
      pending: { count: 0, step: 0, sums: TRAIN_COLUMNS.map(() => 0) },
    },
    eval: [],
  };
}

function compact(s: TrainSeries): void {
  const n = s.step.length;
  const half = Math.floor(n / 2);
  const cols: number[][] = [s.step, ...TRAIN_COLUMNS.map((c) => s[c])];
  for (const col of cols) {
    const isStep = col === s.step;
    for (let i = 0; i < half; i++) {
      col[i] = isStep ? col[2 * i + 1] : (col[2 * i] + col[2 * i + 1]) / 2;
    }
    if (n % 2 === 1) {
      col[half] = col[n - 1];
      col.length = half + 1;
    } else col.length = half;
  }
  s.stride *= 2;
}

/** Appends one step (mutates `s`); steps that go backwards (a resumed run re-sending a step) are ignored. */
export function appendStep(s: TrainSeries, m: StepMetrics, maxPoints = MAX_TRAIN_POINTS): void {
  const last = s.pending.count > 0 ? s.pending.step : s.step[s.step.length - 1];
  if (last !== undefined && m.step <= last) return;
  const p = s.pending;
  TRAIN_COLUMNS.forEach((c, i) => {
    p.sums[i] += m[c];
  });
  p.count++;
  p.step = m.step;
  if (p.count < s.stride) return;
  s.step.push(p.step);
  TRAIN_COLUMNS.forEach((c, i) => {
    s[c].push(p.sums[i] / p.count);
    p.sums[i] = 0;
  });
  p.count = 0;
  if (s.step.length >= maxPoints) compact(s);
}

export function appendEval(series: RunSeries, m: EvalMetrics, maxPoints = MAX_EVAL_POINTS): void {
  const e = series.eval;
  const last = e[e.length - 1];
  if (last && m.step < last.step) return;
  if (last && m.step === last.step) e[e.length - 1] = m;
  else e.push(m);
  if (e.length > maxPoints) {
    // Keep every other older point; the newest always stays.
    const kept = e.filter((_, i) => i % 2 === 1 || i === e.length - 1);
    e.length = 0;
    e.push(...kept);
  }
}

/** Plain copy for storage (structured-cloneable, no shared arrays with the live series). */
export function snapshotSeries(s: RunSeries): RunSeries {
  return {
    train: {
      step: [...s.train.step],
      loss: [...s.train.loss],
      accuracy: [...s.train.accuracy],
      lr: [...s.train.lr],
      gradNorm: [...s.train.gradNorm],
      tokensPerSecond: [...s.train.tokensPerSecond],
      stride: s.train.stride,
      pending: { ...s.train.pending, sums: [...s.train.pending.sums] },
    },
    eval: s.eval.map((m) => ({ ...m })),
  };
}

/** Accepts whatever storage returned; anything malformed becomes an empty series. */
export function restoreSeries(value: unknown): RunSeries {
  const out = emptySeries();
  if (!value || typeof value !== 'object') return out;
  const v = value as Partial<RunSeries>;
  const t = v.train;
  const isNumArray = (x: unknown): x is number[] => Array.isArray(x) && x.every((y) => typeof y === 'number');
  if (t && isNumArray(t.step)) {
    const n = t.step.length;
    const cols = TRAIN_COLUMNS.map((c) => t[c]);
    if (cols.every((col) => isNumArray(col) && col.length === n)) {
      out.train.step = [...t.step];
      TRAIN_COLUMNS.forEach((c, i) => {
        out.train[c] = [...(cols[i] as number[])];
      });
      out.train.stride = typeof t.stride === 'number' && t.stride >= 1 ? t.stride : 1;
      if (t.pending && typeof t.pending.count === 'number' && isNumArray(t.pending.sums)) {
        out.train.pending = { count: t.pending.count, step: t.pending.step, sums: [...t.pending.sums] };
      }
    }
  }
  if (Array.isArray(v.eval)) {
    out.eval = v.eval.filter(
      (m): m is EvalMetrics => !!m && typeof m.step === 'number' && typeof m.loss === 'number',
    );
  }
  return out;
}

/** Drops everything after `step` (a run that went back to an earlier checkpoint). */
export function truncateAfter(series: RunSeries, step: number): void {
  const t = series.train;
  let n = t.step.length;
  while (n > 0 && t.step[n - 1] > step) n--;
  if (n < t.step.length) {
    t.step.length = n;
    for (const c of TRAIN_COLUMNS) t[c].length = n;
  }
  if (t.pending.count > 0 && t.pending.step > step) {
    t.pending = { count: 0, step: 0, sums: TRAIN_COLUMNS.map(() => 0) };
  }
  const keep = series.eval.filter((e) => e.step <= step);
  if (keep.length < series.eval.length) series.eval = keep;
}
