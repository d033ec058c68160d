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
import { expShifted, gemm, gemmDirect, hasGemmDirect, simdScratch } from './matmul.ts';

/** Query rows per block: about one window (the keys a block sees are then ≈ 2 windows). */
function queryBlock(T: number, window: number): number {
  if (window >= T) return 64;
  return Math.max(16, Math.min(64, window));
}

/** The sizes every attention loop here works with: window W ≤ T, width C, query block QB. */
function blocking(shape: AttentionShape) {
  const { B, T, H, D } = shape;
  const W = Math.min(shape.window, T);
  return { B, T, H, D, W, C: H * D, scale: shape.scale ?? 1 / Math.sqrt(D), QB: queryBlock(T, W) };
}

function checkShape(shape: AttentionShape, arrays: Float32Array[], lse: Float32Array): void {
  const { B, T, H, D, window } = shape;
  if (!(window >= 1)) throw new Error(`attention: window = ${window} must be ≥ 1`);
  if (D < 1) throw new Error(`attention: D = ${D} must be ≥ 1`);
  // gemm reads strided views without bounds checks, so check every array once here.
  for (const a of arrays) if (a.length < B * T * H * D) throw new RangeError('attention: buffer too small');
  if (lse.length < B * H * T) throw new RangeError('attention: lse too small');
}

/** out [B, T, C] and lse [B, H, T]: on the packed gemm (any D). */
function attentionForwardPacked(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  shape: AttentionShape,
): void {
  checkShape(shape, [q, k, v, out], lse);
  const { B, T, H, D, W, C, scale, QB } = blocking(shape);
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

/** dq, dk, dv [B, T, C] (overwritten): on the packed gemm (any D). */
function attentionBackwardPacked(
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
  const { B, T, H, D, W, C, scale, QB } = blocking(shape);
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

// The direct path (wasm SIMD, D a multiple of 8): per (batch, head), the head's q, v (and in the
// backward k, dout) are copied into the wasm memory as contiguous [T, D] blocks and k (and v)
// as transposed [D, Tp] blocks, so that every product is gemmDirect on unpacked operands:
//   S = Q·Kᵀ is Q·(Kᵀ) with Kᵀ's rows contiguous; P·V, dS·K plain; dSᵀ·Q and Pᵀ·dO read dS and P
// column-wise (gemmDirect takes either stride for A). Score rows are padded to a multiple of 8
// columns (Tp likewise, zero-filled past T) so that whole 8-column panels can be written.

const pad8 = (n: number) => (n + 7) & ~7;

/** Copies head h of batch b ([B, T, C]) into s[at …] as [T, D]. */
function gatherHead(
  x: Float32Array,
  s: Float32Array,
  at: number,
  base: number,
  T: number,
  C: number,
  D: number,
): void {
  for (let t = 0; t < T; t++) {
    const src = base + t * C;
    const dst = at + t * D;
    for (let d = 0; d < D; d++) s[dst + d] = x[src + d];
  }
}

/** Copies head h of batch b into s[at …] transposed, as [D, Tp] (row d holds channel d over t). */
function gatherHeadT(
  x: Float32Array,
  s: Float32Array,
  at: number,
  base: number,
  T: number,
  Tp: number,
  C: number,
  D: number,
): void {
  for (let t = 0; t < T; t++) {
    const src = base + t * C;
    for (let d = 0; d < D; d++) s[at + d * Tp + t] = x[src + d];
  }
}

function scatterHead(
  s: Float32Array,
  at: number,
  y: Float32Array,
  base: number,
  T: number,
  C: number,
  D: number,
  scale: Float64Array | null,
): void {
  for (let t = 0; t < T; t++) {
    const src = at + t * D;
    const dst = base + t * C;
    const r = scale ? scale[t] : 1;
    for (let d = 0; d < D; d++) y[dst + d] = s[src + d] * r;
  }
}

function attentionForwardDirect(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  shape: AttentionShape,
): void {
  const { B, T, H, D, W, C, scale, QB } = blocking(shape);
  const Tp = pad8(T) + 8;
  const ldS = pad8(Math.min(T, QB + W - 1)) + 8;
  // Float offsets in the scratch: Q, Kᵀ, V, O, S.
  const oQ = 0;
  const oKT = oQ + T * D;
  const oV = oKT + D * Tp;
  const oO = oV + T * D;
  const oS = oO + T * D;
  const s = simdScratch(oS + QB * ldS);
  s.fill(0, oKT, oKT + D * Tp); // the padding past T is read (and ignored) by whole panels
  const inv = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const base = b * T * C + h * D;
      const lseRow = (b * H + h) * T;
      gatherHead(q, s, oQ, base, T, C, D);
      gatherHeadT(k, s, oKT, base, T, Tp, C, D);
      gatherHead(v, s, oV, base, T, C, D);
      for (let t0 = 0; t0 < T; t0 += QB) {
        const nq = Math.min(QB, T - t0);
        const lo = Math.max(0, t0 - W + 1);
        const nk = t0 + nq - lo;
        gemmDirect(s, oQ + t0 * D, D, 1, oKT + lo, Tp, oS, ldS, nq, pad8(nk), D, false);
        for (let i = 0; i < nq; i++) {
          const t = t0 + i;
          const first = Math.max(lo, t - W + 1) - lo;
          const last = t - lo;
          const row = oS + i * ldS;
          let max = Number.NEGATIVE_INFINITY;
          for (let j = first; j <= last; j++) {
            const x = s[row + j] * scale;
            if (x > max) max = x;
          }
          const sum = expShifted(s, row + first, last - first + 1, scale, max);
          for (let j = 0; j < first; j++) s[row + j] = 0;
          for (let j = last + 1; j < nk; j++) s[row + j] = 0;
          inv[t] = 1 / sum;
          lse[lseRow + t] = max + Math.log(sum);
        }
        gemmDirect(s, oS, ldS, 1, oV + lo * D, D, oO + t0 * D, D, nq, D, nk, false);
      }
      scatterHead(s, oO, out, base, T, C, D, inv);
    }
  }
}

function attentionBackwardDirect(
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
  const { B, T, H, D, W, C, scale, QB } = blocking(shape);
  const Tp = pad8(T) + 8;
  const ldS = pad8(Math.min(T, QB + W - 1)) + 8;
  // Float offsets: Q, K, Kᵀ, Vᵀ, dO, dQ, dK, dV, P, dS.
  const oQ = 0;
  const oK = oQ + T * D;
  const oKT = oK + T * D;
  const oVT = oKT + D * Tp;
  const oDO = oVT + D * Tp;
  const oDQ = oDO + T * D;
  const oDK = oDQ + T * D;
  const oDV = oDK + T * D;
  const oP = oDV + T * D;
  const oDS = oP + QB * ldS;
  const s = simdScratch(oDS + QB * ldS);
  s.fill(0, oKT, oDO); // Kᵀ and Vᵀ padding
  const delta = new Float64Array(QB);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const base = b * T * C + h * D;
      const lseRow = (b * H + h) * T;
      gatherHead(q, s, oQ, base, T, C, D);
      gatherHead(k, s, oK, base, T, C, D);
      gatherHeadT(k, s, oKT, base, T, Tp, C, D);
      gatherHeadT(v, s, oVT, base, T, Tp, C, D);
      gatherHead(dout, s, oDO, base, T, C, D);
      s.fill(0, oDK, oDK + 2 * T * D); // dK and dV collect over query blocks
      for (let t0 = 0; t0 < T; t0 += QB) {
        const nq = Math.min(QB, T - t0);
        const lo = Math.max(0, t0 - W + 1);
        const nk = t0 + nq - lo;
        const nkp = pad8(nk);
        gemmDirect(s, oQ + t0 * D, D, 1, oKT + lo, Tp, oP, ldS, nq, nkp, D, false);
        gemmDirect(s, oDO + t0 * D, D, 1, oVT + lo, Tp, oDS, ldS, nq, nkp, D, false);
        for (let i = 0; i < nq; i++) {
          // Δ_t = dout_t · out_t (float64 sum, as the twin).
          let d = 0;
          const o = base + (t0 + i) * C;
          for (let c = 0; c < D; c++) d += dout[o + c] * out[o + c];
          delta[i] = d;
        }
        for (let i = 0; i < nq; i++) {
          const t = t0 + i;
          const first = Math.max(lo, t - W + 1) - lo;
          const last = t - lo;
          const rp = oP + i * ldS;
          const rd = oDS + i * ldS;
          const L = lse[lseRow + t];
          const di = delta[i];
          for (let j = 0; j < first; j++) s[rp + j] = s[rd + j] = 0;
          expShifted(s, rp + first, last - first + 1, scale, L);
          for (let j = first; j <= last; j++) s[rd + j] = s[rp + j] * (s[rd + j] - di) * scale; // dS
          for (let j = last + 1; j < nk; j++) s[rp + j] = s[rd + j] = 0;
        }
        gemmDirect(s, oDS, ldS, 1, oK + lo * D, D, oDQ + t0 * D, D, nq, D, nk, false);
        gemmDirect(s, oDS, 1, ldS, oQ + t0 * D, D, oDK + lo * D, D, nk, D, nq, true);
        gemmDirect(s, oP, 1, ldS, oDO + t0 * D, D, oDV + lo * D, D, nk, D, nq, true);
      }
      scatterHead(s, oDQ, dq, base, T, C, D, null);
      scatterHead(s, oDK, dk, base, T, C, D, null);
      scatterHead(s, oDV, dv, base, T, C, D, null);
    }
  }
}

/** out [B, T, C] and lse [B, H, T]. `path` is for tests. */
export function attentionForwardFast(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  shape: AttentionShape,
  path: 'auto' | 'packed' = 'auto',
): void {
  checkShape(shape, [q, k, v, out], lse);
  if (path === 'auto' && hasGemmDirect && shape.D % 8 === 0) attentionForwardDirect(q, k, v, out, lse, shape);
  else attentionForwardPacked(q, k, v, out, lse, shape);
}

/** dq, dk, dv [B, T, C] (overwritten) from the forward's out and lse and dout. `path` is for tests. */
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
  path: 'auto' | 'packed' = 'auto',
): void {
  checkShape(shape, [q, k, v, out, dout, dq, dk, dv], lse);
  if (path === 'auto' && hasGemmDirect && shape.D % 8 === 0) {
    attentionBackwardDirect(q, k, v, out, lse, dout, dq, dk, dv, shape);
  } else {
    attentionBackwardPacked(q, k, v, out, lse, dout, dq, dk, dv, shape);
  }
}
