// Repeats over seeds: the same variant trained with seeds seed, seed + 1, … and summarised the
// way experiment trackers do, as a mean with its min–max band. Shared by the page (curves,
// results table) and the CLI (results.json).

/** Mean, extremes and spread of one number over the seeds that have it. */
export interface Spread {
  mean: number;
  min: number;
  max: number;
  /** Sample standard deviation (0 for a single seed). */
  sd: number;
  /** Seeds that contributed. */
  n: number;
}

/** The seeds of a variant repeated `repeats` times from `seed`. */
export function seedsOf(seed: number, repeats: number): number[] {
  return Array.from({ length: Math.max(1, repeats) }, (_, i) => seed + i);
}

const SEED_SUFFIX = / · seed \d+$/;

/** The name of one seed's run in legends: "E1 window · seed 2". */
export function seededName(name: string, seed: number): string {
  return `${name} · seed ${seed}`;
}

/** The variant's name without the seed (the name of its mean curve and results row). */
export function unseededName(name: string): string {
  return name.replace(SEED_SUFFIX, '');
}

/** Spread of the finite values (NaN and ∞ of a diverged seed are left out, and n says so); null when none. */
export function spreadOf(values: readonly number[]): Spread | null {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  if (n === 0) return null;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of finite) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / n;
  let squares = 0;
  for (const v of finite) squares += (v - mean) ** 2;
  return { mean, min, max, sd: n > 1 ? Math.sqrt(squares / (n - 1)) : 0, n };
}

export interface SeedCurve {
  steps: readonly number[];
  values: readonly number[];
}

export interface BandPoint extends Spread {
  step: number;
}

/**
 * One point per step that any seed reached, in step order: mean, min and max over the seeds
 * that have a finite value at that step. A seed that stopped early (or is still running) no
 * longer counts past its last step, so `n` falls there rather than the mean being dragged
 * towards a missing value.
 */
export function alignBySteps(curves: readonly SeedCurve[]): BandPoint[] {
  const byStep = new Map<number, number[]>();
  for (const c of curves) {
    const n = Math.min(c.steps.length, c.values.length);
    for (let i = 0; i < n; i++) {
      const list = byStep.get(c.steps[i]);
      if (list) list.push(c.values[i]);
      else byStep.set(c.steps[i], [c.values[i]]);
    }
  }
  const out: BandPoint[] = [];
  for (const step of [...byStep.keys()].sort((a, b) => a - b)) {
    const s = spreadOf(byStep.get(step)!);
    if (s) out.push({ step, ...s });
  }
  return out;
}

/** Every finite number of a plain object by its dotted path (arrays are left out). */
export function numericLeaves(value: unknown, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'number') {
      if (Number.isFinite(v)) out.set(path, v);
    } else if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    }
  };
  walk(value, prefix);
  return out;
}

/** The spread over seeds of every number the per-seed records report, by dotted path. */
export function spreadByPath(records: readonly unknown[]): Record<string, Spread> {
  const values = new Map<string, number[]>();
  for (const r of records) {
    for (const [path, v] of numericLeaves(r)) {
      const list = values.get(path);
      if (list) list.push(v);
      else values.set(path, [v]);
    }
  }
  const out: Record<string, Spread> = {};
  for (const [path, list] of values) {
    const s = spreadOf(list);
    if (s) out[path] = s;
  }
  return out;
}
