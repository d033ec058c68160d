// CPU twin of shaders/rmsnorm.wgsl: RMSNorm as in Qwen3 (no mean subtraction, no bias).
//
//   y[n, c] = x[n, c] · rstd[n] · w[c],   rstd[n] = 1 / sqrt(mean_c(x[n, c]²) + eps)
//
// Layouts (row-major): x, y, dy, dx [N, C]; w, dw [C]; rstd [N] (saved by the forward).
// Backward, with x̂ = x · rstd and g = w ⊙ dy (per row):
//   dx = rstd · (g − x̂ · mean_c(g ⊙ x̂))
//   dw = Σ_n dy[n] ⊙ x̂[n]

import { allocLike, type FloatArray, needLength } from './float-array.ts';

/** Qwen3's default. */
export const RMSNORM_EPS = 1e-6;

export function rmsnormForward<F extends FloatArray>(
  x: F,
  w: ArrayLike<number>,
  N: number,
  C: number,
  eps = RMSNORM_EPS,
): { y: F; rstd: F } {
  needLength(x, N * C, 'rmsnormForward x');
  needLength(w, C, 'rmsnormForward w');
  const y = allocLike(x, N * C);
  const rstd = allocLike(x, N);
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[n * C + c] * x[n * C + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) y[n * C + c] = x[n * C + c] * r * w[c];
  }
  return { y, rstd };
}

/**
 * Gradients of rmsnormForward. `rstd` is the forward's. When `accumulate` holds arrays,
 * dx and/or dw are added into them (dx into the residual stream's gradient, dw across
 * micro-batches); otherwise fresh arrays are returned.
 */
export function rmsnormBackward<F extends FloatArray>(
  x: F,
  w: ArrayLike<number>,
  rstd: ArrayLike<number>,
  dy: F,
  N: number,
  C: number,
  accumulate: { dx?: F; dw?: F } = {},
): { dx: F; dw: F } {
  needLength(x, N * C, 'rmsnormBackward x');
  needLength(dy, N * C, 'rmsnormBackward dy');
  needLength(w, C, 'rmsnormBackward w');
  needLength(rstd, N, 'rmsnormBackward rstd');
  const dx = accumulate.dx ?? allocLike(x, N * C);
  const dw = accumulate.dw ?? allocLike(x, C);
  needLength(dx, N * C, 'rmsnormBackward dx');
  needLength(dw, C, 'rmsnormBackward dw');
  const dwSum = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const r = rstd[n];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += w[c] * dy[n * C + c] * x[n * C + c] * r;
    const meanDot = dot / C;
    for (let c = 0; c < C; c++) {
      const xhat = x[n * C + c] * r;
      dx[n * C + c] += r * (w[c] * dy[n * C + c] - xhat * meanDot);
      dwSum[c] += dy[n * C + c] * xhat;
    }
  }
  for (let c = 0; c < C; c++) dw[c] += dwSum[c];
  return { dx, dw };
}
