// Fast CPU attention (forward and backward) with the semantics of reference/attention.ts:
// causal, key window t − W + 1 … t (W ≥ T: global), scale 1/√D, q/k/v/out [B, T, H·D],
// lse [B, H, T].
//
// Per (batch, head), the head's rows are gathered into contiguous [T, D] blocks; queries go in
// blocks of QB rows, and each block meets the keys any of its rows can see as small matmuls
// (matmul.ts, SIMD): S = Q·Kᵀ, then a masked softmax in JS (exp in float64), then O = P·V.
// Computing the whole QB × keys rectangle wastes the masked corner (at most about half of it)
// but runs at matmul speed. The backward recomputes P from lse, as the twin does:
//   dP = dO·Vᵀ,  dS = P ⊙ (dP − Δ)·scale,  dQ = dS·K,  dK += dSᵀ·Q,  dV += Pᵀ·dO.

import type { AttentionShape } from '../reference/attention.ts';
import { matmulFast } from './matmul.ts';

/** Query rows per block: about one window (the keys a block sees are then ≈ 2 windows). */
function queryBlock(T: number, window: number): number {
  if (window >= T) return 64;
  return Math.max(16, Math.min(64, window));
}

/** Scratch buffers, grown on demand and reused (the CPU backend is single-threaded). */
const scratch = new Map<string, Float32Array>();
function buf(name: string, n: number): Float32Array {
  let b = scratch.get(name);
  if (!b || b.length < n) {
    b = new Float32Array(n);
    scratch.set(name, b);
  }
  return b;
}

/** Copies head h of batch b from [B, T, C] into a contiguous [T, D] block. */
function gather(
  src: Float32Array,
  dst: Float32Array,
  b: number,
  h: number,
  T: number,
  C: number,
  D: number,
): void {
  for (let t = 0; t < T; t++) {
    const o = (b * T + t) * C + h * D;
    dst.set(src.subarray(o, o + D), t * D);
  }
}

function scatter(
  src: Float32Array,
  dst: Float32Array,
  b: number,
  h: number,
  T: number,
  C: number,
  D: number,
): void {
  for (let t = 0; t < T; t++) dst.set(src.subarray(t * D, t * D + D), (b * T + t) * C + h * D);
}

function checkShape(shape: AttentionShape): void {
  const { window, D } = shape;
  if (!(window >= 1)) throw new Error(`attention: window = ${window} must be ≥ 1`);
  if (D < 1) throw new Error(`attention: D = ${D} must be ≥ 1`);
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
  checkShape(shape);
  const { B, T, H, D } = shape;
  const W = Math.min(shape.window, T);
  const C = H * D;
  const scale = shape.scale ?? 1 / Math.sqrt(D);
  const QB = queryBlock(T, W);
  const maxKeys = Math.min(T, QB + W - 1);
  const qh = buf('qh', T * D);
  const kh = buf('kh', T * D);
  const vh = buf('vh', T * D);
  const oh = buf('oh', T * D);
  const s = buf('s', QB * maxKeys);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      gather(q, qh, b, h, T, C, D);
      gather(k, kh, b, h, T, C, D);
      gather(v, vh, b, h, T, C, D);
      const lseRow = (b * H + h) * T;
      for (let t0 = 0; t0 < T; t0 += QB) {
        const nq = Math.min(QB, T - t0);
        const lo = Math.max(0, t0 - W + 1);
        const nk = t0 + nq - lo; // keys lo … t0 + nq − 1
        matmulFast(qh.subarray(t0 * D), kh.subarray(lo * D), s, { M: nq, N: nk, K: D, transB: true });
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
          let sum = 0;
          for (let j = 0; j < first; j++) s[row + j] = 0;
          for (let j = first; j <= last; j++) {
            const p = Math.exp(s[row + j] * scale - max);
            s[row + j] = p;
            sum += p;
          }
          for (let j = last + 1; j < nk; j++) s[row + j] = 0;
          const inv = 1 / sum;
          for (let j = first; j <= last; j++) s[row + j] *= inv;
          lse[lseRow + t] = max + Math.log(sum);
        }
        matmulFast(s, vh.subarray(lo * D), oh.subarray(t0 * D), { M: nq, N: D, K: nk });
      }
      scatter(oh, out, b, h, T, C, D);
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
  checkShape(shape);
  const { B, T, H, D } = shape;
  const W = Math.min(shape.window, T);
  const C = H * D;
  const scale = shape.scale ?? 1 / Math.sqrt(D);
  const QB = queryBlock(T, W);
  const maxKeys = Math.min(T, QB + W - 1);
  const qh = buf('qh', T * D);
  const kh = buf('kh', T * D);
  const vh = buf('vh', T * D);
  const oh = buf('oh', T * D);
  const doh = buf('doh', T * D);
  const dqh = buf('dqh', T * D);
  const dkh = buf('dkh', T * D);
  const dvh = buf('dvh', T * D);
  const p = buf('s', QB * maxKeys);
  const dp = buf('dp', QB * maxKeys);
  const delta = new Float64Array(QB);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      gather(q, qh, b, h, T, C, D);
      gather(k, kh, b, h, T, C, D);
      gather(v, vh, b, h, T, C, D);
      gather(out, oh, b, h, T, C, D);
      gather(dout, doh, b, h, T, C, D);
      dkh.fill(0, 0, T * D);
      dvh.fill(0, 0, T * D);
      const lseRow = (b * H + h) * T;
      for (let t0 = 0; t0 < T; t0 += QB) {
        const nq = Math.min(QB, T - t0);
        const lo = Math.max(0, t0 - W + 1);
        const nk = t0 + nq - lo;
        const qBlk = qh.subarray(t0 * D);
        const doBlk = doh.subarray(t0 * D);
        matmulFast(qBlk, kh.subarray(lo * D), p, { M: nq, N: nk, K: D, transB: true });
        matmulFast(doBlk, vh.subarray(lo * D), dp, { M: nq, N: nk, K: D, transB: true });
        for (let i = 0; i < nq; i++) {
          // Δ_t = dout_t · out_t (float64 sum, as the twin).
          let d = 0;
          const o = (t0 + i) * D;
          for (let c = 0; c < D; c++) d += doh[o + c] * oh[o + c];
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
          for (let j = first; j <= last; j++) {
            const pj = Math.exp(p[row + j] * scale - L);
            p[row + j] = pj;
            dp[row + j] = pj * (dp[row + j] - di) * scale; // dS
          }
          for (let j = last + 1; j < nk; j++) p[row + j] = dp[row + j] = 0;
        }
        matmulFast(dp, kh.subarray(lo * D), dqh.subarray(t0 * D), { M: nq, N: D, K: nk });
        matmulFast(dp, qBlk, dkh.subarray(lo * D), { M: nk, N: D, K: nq, transA: true }, true);
        matmulFast(p, doBlk, dvh.subarray(lo * D), { M: nk, N: D, K: nq, transA: true }, true);
      }
      scatter(dqh, dq, b, h, T, C, D);
      scatter(dkh, dk, b, h, T, C, D);
      scatter(dvh, dv, b, h, T, C, D);
    }
  }
}
