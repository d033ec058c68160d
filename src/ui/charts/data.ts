// Turning stored series into what the charts draw: EMA smoothing, downsampling to a
// bounded number of points, and positive-only filtering for the log scale.

export interface XY {
  x: number;
  y: number;
}

/**
 * Exponential moving average with bias correction (as TensorBoard does), so the curve
 * starts at the first value instead of at 0. weight 0 returns the values unchanged.
 */
export function ema(values: readonly number[], weight: number): number[] {
  const w = Math.min(Math.max(weight, 0), 0.9999);
  if (w === 0) return values.slice();
  const out = new Array<number>(values.length);
  let acc = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = acc / (1 - w ** Math.max(n, 1));
      continue;
    }
    acc = acc * w + (1 - w) * v;
    n++;
    out[i] = acc / (1 - w ** n);
  }
  return out;
}

/**
 * At most `maxPoints` points: consecutive points are averaged in equal buckets (x and y),
 * the first and last points are kept exactly so the curve ends where the data ends.
 */
export function downsample(xs: readonly number[], ys: readonly number[], maxPoints: number): XY[] {
  const n = Math.min(xs.length, ys.length);
  if (n <= maxPoints || maxPoints < 3) {
    const out: XY[] = [];
    for (let i = 0; i < n; i++) out.push({ x: xs[i], y: ys[i] });
    return out;
  }
  const out: XY[] = [{ x: xs[0], y: ys[0] }];
  const inner = maxPoints - 2;
  const size = (n - 2) / inner;
  for (let b = 0; b < inner; b++) {
    const start = 1 + Math.floor(b * size);
    const end = Math.min(n - 1, 1 + Math.floor((b + 1) * size));
    let sx = 0;
    let sy = 0;
    let c = 0;
    for (let i = start; i < end; i++) {
      if (!Number.isFinite(ys[i])) continue;
      sx += xs[i];
      sy += ys[i];
      c++;
    }
    if (c > 0) out.push({ x: sx / c, y: sy / c });
  }
  out.push({ x: xs[n - 1], y: ys[n - 1] });
  return out;
}

/** Drops points a log axis cannot show (≤ 0, NaN). */
export function positiveOnly(points: XY[]): XY[] {
  return points.filter((p) => Number.isFinite(p.y) && p.y > 0);
}

export function finiteOnly(points: XY[]): XY[] {
  return points.filter((p) => Number.isFinite(p.y) && Number.isFinite(p.x));
}

/** Label of loss-by-position bucket b (0: t = 0, b: 2^(b−1) ≤ t < 2^b). */
export function positionBucketLabel(b: number): string {
  if (b === 0) return '0';
  const lo = 2 ** (b - 1);
  const hi = 2 ** b - 1;
  return lo === hi ? String(lo) : `${lo}–${hi}`;
}
