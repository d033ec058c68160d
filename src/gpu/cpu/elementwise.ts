// Fast CPU versions of the cheap ops, same formulas as their twins in src/gpu/reference, written
// into the caller's buffers (no allocation per call) with each transcendental computed once.

import { checkLabels } from '../reference/cross-entropy.ts';
import { checkRopeShape, DEFAULT_ROPE_BASE, ropeAngle } from '../reference/rope.ts';
import { expShifted, simdScratch } from './matmul.ts';

export interface CrossEntropyStats {
  meanLoss: number;
  lossSum: number;
  count: number;
  correctCount: number;
  accuracy: number;
}

/**
 * Mean softmax cross-entropy over rows with a label ≥ 0, and (when `dlogits` is given) its
 * gradient gradScale · (softmax − onehot) / count, zeros on ignored rows. exp runs once per logit (the
 * twin's forward and backward each recompute it); sums in float64.
 */
export function crossEntropyFast(
  logits: Float32Array,
  labels: Int32Array,
  dlogits: Float32Array | null,
  N: number,
  V: number,
  gradScale = 1,
): CrossEntropyStats {
  if (logits.length < N * V || labels.length < N) throw new RangeError('crossEntropyFast: buffers too small');
  checkLabels(labels.subarray(0, N), V);
  let count = 0;
  for (let n = 0; n < N; n++) if (labels[n] >= 0) count++;
  const k = gradScale / Math.max(count, 1);
  let lossSum = 0;
  let correctCount = 0;
  for (let n = 0; n < N; n++) {
    const label = labels[n];
    const row = n * V;
    if (label < 0) {
      if (dlogits) dlogits.fill(0, row, row + V);
      continue;
    }
    let max = logits[row];
    let arg = 0;
    for (let j = 1; j < V; j++) {
      if (logits[row + j] > max) {
        max = logits[row + j];
        arg = j;
      }
    }
    let sum = 0;
    if (dlogits) {
      for (let j = 0; j < V; j++) {
        const e = Math.exp(logits[row + j] - max);
        dlogits[row + j] = e; // float32 store; rescaled below
        sum += e;
      }
    } else {
      for (let j = 0; j < V; j++) sum += Math.exp(logits[row + j] - max);
    }
    const lse = Math.log(sum);
    lossSum += max + lse - logits[row + label];
    if (arg === label) correctCount++;
    if (dlogits) {
      // p = e / sum; the label's entry (p − 1, where cancellation matters) is recomputed in float64.
      const scale = k / sum;
      for (let j = 0; j < V; j++) dlogits[row + j] *= scale;
      dlogits[row + label] = (Math.exp(logits[row + label] - max - lse) - 1) * k;
    }
  }
  return {
    meanLoss: count > 0 ? lossSum / count : 0,
    lossSum,
    count,
    correctCount,
    accuracy: count > 0 ? correctCount / count : 0,
  };
}

/** cos/sin tables [T, D/2] in float64, cached per (T, D, base): the twin recomputes them per call. */
const ropeTables = new Map<string, { cos: Float64Array; sin: Float64Array }>();
function ropeTable(T: number, D: number, base: number): { cos: Float64Array; sin: Float64Array } {
  const key = `${T}:${D}:${base}`;
  let t = ropeTables.get(key);
  if (!t) {
    const half = D / 2;
    t = { cos: new Float64Array(T * half), sin: new Float64Array(T * half) };
    for (let pos = 0; pos < T; pos++) {
      for (let i = 0; i < half; i++) {
        const a = ropeAngle(pos, i, D, base);
        t.cos[pos * half + i] = Math.cos(a);
        t.sin[pos * half + i] = Math.sin(a);
      }
    }
    if (ropeTables.size > 16) ropeTables.clear();
    ropeTables.set(key, t);
  }
  return t;
}

/** y = RoPE(x) (direction 1) or its inverse (−1, the backward), [B, T, H·D]; y may not alias x. */
export function ropeFast(
  x: Float32Array,
  y: Float32Array,
  shape: { B: number; T: number; H: number; D: number; base?: number },
  direction: 1 | -1,
): void {
  checkRopeShape(shape);
  const { B, T, H, D, base = DEFAULT_ROPE_BASE } = shape;
  const C = H * D;
  const half = D / 2;
  if (x.length < B * T * C || y.length < B * T * C) throw new RangeError('ropeFast: buffers too small');
  const { cos, sin } = ropeTable(T, D, base);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const ct = t * half;
      for (let h = 0; h < H; h++) {
        const at = (b * T + t) * C + h * D;
        for (let i = 0; i < half; i++) {
          const c = cos[ct + i];
          const s = direction * sin[ct + i];
          const x1 = x[at + i];
          const x2 = x[at + i + half];
          y[at + i] = x1 * c - x2 * s;
          y[at + i + half] = x2 * c + x1 * s;
        }
      }
    }
  }
}

// SwiGLU takes exp(−a) for a chunk of a at a time from expShifted (wasm SIMD where available):
// σ(a) = 1 / (1 + exp(−a)). The SIMD exp clamps its argument to about [−87.3, 88.4], which
// changes σ only where it is below 1e−38 (a < −88), i.e. silu(a) by less than 1e−36.
const CHUNK = 4096;

/** out = silu(a) ⊙ b. */
export function swigluForwardFast(a: Float32Array, b: Float32Array, out: Float32Array): void {
  const n = out.length;
  for (let i0 = 0; i0 < n; i0 += CHUNK) {
    const m = Math.min(CHUNK, n - i0);
    const e = simdScratch(m);
    e.set(a.subarray(i0, i0 + m));
    expShifted(e, 0, m, -1, 0);
    for (let j = 0; j < m; j++) {
      const i = i0 + j;
      out[i] = (a[i] * b[i]) / (1 + e[j]);
    }
  }
}

/** da = dout ⊙ b ⊙ σ(a)(1 + a(1 − σ(a))), db = dout ⊙ silu(a). */
export function swigluBackwardFast(
  a: Float32Array,
  b: Float32Array,
  dout: Float32Array,
  da: Float32Array,
  db: Float32Array,
): void {
  const n = a.length;
  for (let i0 = 0; i0 < n; i0 += CHUNK) {
    const m = Math.min(CHUNK, n - i0);
    const e = simdScratch(m);
    e.set(a.subarray(i0, i0 + m));
    expShifted(e, 0, m, -1, 0);
    for (let j = 0; j < m; j++) {
      const i = i0 + j;
      const x = a[i];
      const ej = e[j];
      const s = 1 / (1 + ej);
      const g = dout[i];
      // 1 − σ = e·σ, exact where σ is near 1 (no cancellation).
      da[i] = g * b[i] * s * (1 + x * ej * s);
      db[i] = g * x * s;
    }
  }
}

/** y = x · rstd · w per row, rstd = 1/√(mean(x²) + eps) (float64 sums), into y and rstd. */
export function rmsnormForwardFast(
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  rstd: Float32Array,
  N: number,
  C: number,
  eps: number,
): void {
  if (x.length < N * C || y.length < N * C || w.length < C || rstd.length < N) {
    throw new RangeError('rmsnormForwardFast: buffers too small');
  }
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[o + c] * x[o + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) y[o + c] = x[o + c] * r * w[c];
  }
}

const dwSum = { buf: new Float64Array(0) };

/**
 * dx (+)= rstd · (w⊙dy − x̂ · mean(w⊙dy⊙x̂)), dw += Σ_n dy ⊙ x̂ (x̂ = x · rstd), as the twin;
 * the forward's rstd is used as stored (float32), as the twin does.
 */
export function rmsnormBackwardFast(
  x: Float32Array,
  w: Float32Array,
  rstd: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  dw: Float32Array | null,
  N: number,
  C: number,
  accumulateDx: boolean,
): void {
  if (x.length < N * C || dy.length < N * C || dx.length < N * C || w.length < C || rstd.length < N) {
    throw new RangeError('rmsnormBackwardFast: buffers too small');
  }
  if (dwSum.buf.length < C) dwSum.buf = new Float64Array(C);
  const acc = dwSum.buf;
  acc.fill(0, 0, C);
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const r = rstd[n];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += w[c] * dy[o + c] * x[o + c] * r;
    const meanDot = dot / C;
    for (let c = 0; c < C; c++) {
      const xhat = x[o + c] * r;
      const g = r * (w[c] * dy[o + c] - xhat * meanDot);
      dx[o + c] = accumulateDx ? dx[o + c] + g : g;
      acc[c] += dy[o + c] * xhat;
    }
  }
  if (dw) for (let c = 0; c < C; c++) dw[c] += acc[c];
}
