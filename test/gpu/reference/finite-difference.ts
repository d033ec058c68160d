// Central finite differences for the gradient checks of the CPU twins. The twins run in
// float64 here (they follow their input's precision), so with h = 1e-5 the truncation
// error is O(h²·f''') ≈ 1e-10 and rounding O(ε/h) ≈ 1e-11: checks can be tight.

import { rng } from '../../harness/random.ts';

/** d loss / d x[i] for every i, by (loss(x + h) − loss(x − h)) / 2h; x is restored. */
export function numericGradient(loss: () => number, x: Float64Array, h = 1e-5): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const up = loss();
    x[i] = saved - h;
    const down = loss();
    x[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/** Σ g · out: a random linear functional of an op's output, so its gradient w.r.t. out is g. */
export function dot(g: ArrayLike<number>, out: ArrayLike<number>): number {
  if (g.length !== out.length) throw new Error(`dot: lengths ${g.length} and ${out.length} differ`);
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * out[i];
  return s;
}

/** Uniform in [-scale, scale), float64. */
export function random64(n: number, seed: number, scale = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}
