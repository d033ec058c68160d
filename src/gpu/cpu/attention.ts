// Fast CPU attention (forward and backward) with the semantics of reference/attention.ts:
// causal, key window t − W + 1 … t (W ≥ T: global), scale 1/√D, q/k/v/out [B, T, H·D],
// lse [B, H, T].
//
// Per (batch, head), queries go in blocks of QB rows, and each block meets the keys any of its
// rows can see as small matmuls on strided views of the head's rows (matmul.ts gemm, SIMD): S = Q·Kᵀ, then a masked softmax in JS (exp in float64), then O = P·V.
// Computing the whole QB × keys rectangle wastes the masked corner (at most about half of it)
// but runs at matmul speed. The score blocks live in the wasm memory, where the softmax's exp
// runs in SIMD (expShifted); the forward divides by Σ exp after P·V, on D values per row. The backward recomputes P from lse, as the twin does:
//   dP = dO·Vᵀ,  dS = P ⊙ (dP − Δ)·scale,  dQ = dS·K,  dK += dSᵀ·Q,  dV += Pᵀ·dO.

import type { AttentionShape } from '../reference/attention.ts';
import { expShifted, gemm, simdScratch } from './matmul.ts';

/** Query rows per block: about one window (the keys a block sees are then ≈ 2 windows). */
function queryBlock(T: number, window: number): number {
  if (window >= T) return 64;
  return Math.max(16, Math.min(64, window));
}

function checkShape(shape: AttentionShape, arrays: Float32Array[], lse: Float32Array): void {
  const { B, T, H, D, window } = shape;
  if (!(window >= 1)) throw new Error(`attention: window = ${window} must be ≥ 1`);
  if (D < 1) throw new Error(`attention: D = ${D} must be ≥ 1`);
  // gemm reads strided views without bounds checks, so check every array once here.
  for (const a of arrays) if (a.length < B * T * H * D) throw new RangeError('attention: buffer too small');
  if (lse.length < B * H * T) throw new RangeError('attention: lse too small');
}

/** out [B, T, C] and lse [B, H, T]. */
export function attentionForwardFast(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  shape: AttentionShape,
): void {
  checkShape(shape, [q, k, v, out], lse);
  const { B, T, H, D } = shape;
  const W = Math.min(shape.window, T);
  const C = H * D;
  const scale = shape.scale ?? 1 / Math.sqrt(D);
  const QB = queryBlock(T, W);
  const s = simdScratch(QB * Math.min(T, QB + W - 1));
  const inv = new Float64Array(QB);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      // Head h's rows: base + t·C, D channels each.
      const base = b * T * C + h * D;
      const lseRow = (b * H + h) * T;
      for (let t0 = 0; t0 < T; t0 += QB) {
        const nq = Math.min(QB, T - t0);
        const lo = Math.max(0, t0 - W + 1);
        const nk = t0 + nq - lo; // keys lo … t0 + nq − 1
        gemm(q, base + t0 * C, C, false, k, base + lo * C, C, true, s, 0, nk, nq, nk, D, false);
        for (let i = 0; i < nq; i++) {
          const t = t0 + i;
          const first = Math.max(lo, t - W + 1) - lo; // visible keys: first … last (row-local)
          const last = t - lo;
          const row = i * nk;
          let max = Number.NEGATIVE_INFINITY;
          for (let j = first; j <= last; j++) {
            const x = s[row + j] * scale;
            if (x > max) max = x;
          }
          // Unnormalised weights e = exp(s − max); out = (E·V) / Σe below.
          const sum = expShifted(s, row + first, last - first + 1, scale, max);
          for (let j = 0; j < first; j++) s[row + j] = 0;
          for (let j = last + 1; j < nk; j++) s[row + j] = 0;
          inv[i] = 1 / sum;
          lse[lseRow + t] = max + Math.log(sum);
        }
        gemm(s, 0, nk, false, v, base + lo * C, C, false, out, base + t0 * C, C, nq, D, nk, false);
        for (let i = 0; i < nq; i++) {
          const o = base + (t0 + i) * C;
          const r = inv[i];
          for (let c = 0; c < D; c++) out[o + c] *= r;
        }
      }
    }
  }
}

/** dq, dk, dv [B, T, C] (overwritten) from the forward's out and lse and dout. */
export function attentionBackwardFast(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  dout: Float32Array,
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  shape: AttentionShape,
): void {
  checkShape(shape, [q, k, v, out, dout, dq, dk, dv], lse);
  const { B, T, H, D } = shape;
  const W = Math.min(shape.window, T);
  const C = H * D;
  const scale = shape.scale ?? 1 / Math.sqrt(D);
  const QB = queryBlock(T, W);
  const maxKeys = Math.min(T, QB + W - 1);
  const both = simdScratch(2 * QB * maxKeys);
  const p = both.subarray(0, QB * maxKeys);
  const dp = both.subarray(QB * maxKeys, 2 * QB * maxKeys);
  const delta = new Float64Array(QB);
  // dk and dv collect contributions from several query blocks.
  dk.fill(0, 0, B * T * C);
  dv.fill(0, 0, B * T * C);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const base = b * T * C + h * D;
      const lseRow = (b * H + h) * T;
      for (let t0 = 0; t0 < T; t0 += QB) {
        const nq = Math.min(QB, T - t0);
        const lo = Math.max(0, t0 - W + 1);
        const nk = t0 + nq - lo;
        const qo = base + t0 * C;
        const ko = base + lo * C;
        gemm(q, qo, C, false, k, ko, C, true, p, 0, nk, nq, nk, D, false);
        gemm(dout, qo, C, false, v, ko, C, true, dp, 0, nk, nq, nk, D, false);
        for (let i = 0; i < nq; i++) {
          // Δ_t = dout_t · out_t (float64 sum, as the twin).
          let d = 0;
          const o = qo + i * C;
          for (let c = 0; c < D; c++) d += dout[o + c] * out[o + c];
          delta[i] = d;
        }
        for (let i = 0; i < nq; i++) {
          const t = t0 + i;
          const first = Math.max(lo, t - W + 1) - lo;
          const last = t - lo;
          const row = i * nk;
          const L = lse[lseRow + t];
          const di = delta[i];
          for (let j = 0; j < first; j++) p[row + j] = dp[row + j] = 0;
          expShifted(p, row + first, last - first + 1, scale, L);
          for (let j = first; j <= last; j++) dp[row + j] = p[row + j] * (dp[row + j] - di) * scale; // dS
          for (let j = last + 1; j < nk; j++) p[row + j] = dp[row + j] = 0;
        }
        gemm(dp, 0, nk, false, k, ko, C, false, dq, qo, C, nq, D, nk, false);
        gemm(dp, 0, nk, true, q, qo, C, false, dk, ko, C, nk, D, nq, true);
        gemm(p, 0, nk, true, dout, qo, C, false, dv, ko, C, nk, D, nq, true);
      }
    }
  }
}
