// Fast CPU attention (forward and backward) with the semantics of reference/attention.ts:
// causal, key window t − W + 1 … t (W ≥ T: global), scale 1/√D, q/k/v/out [B, T, H·D],
// lse [B, H, T].
//
// Per (batch, head), queries go in blocks of QB rows, and each block meets the keys any of its
// rows can see as small matmuls on strided views of the head's rows (SIMD): S = Q·Kᵀ, then a
// masked softmax, then O = P·V. Computing the whole QB × keys rectangle wastes the masked corner
// (QB·(QB − 1)/2 of the QB·(QB + W − 1) scores of a window's block) but runs at matmul speed. So
// blocks are small: 8 rows in the forward (4 were no faster, 16 about 10% slower at W = 32; 16
// on the packed path, which packs K per block). In the backward dK and dV sum over the block's
// rows, and short sums spend their time loading and storing C, so its blocks are half a window
// (16 … 64 rows) or 64 rows for global attention; on the direct path P, dS and dQ go by
// sub-blocks of 8 rows, each over the keys it sees, so the masked corner computed on the
// diagonal stays 8 rows wide (at T = 256, 64-row blocks computed 25% more scores than the
// causal triangle). The score blocks live in the wasm memory; on the
// direct path the masked softmax (normalised before P·V) and the backward's P and dS of a whole
// block are one wasm call each (attention-simd.ts); on the packed path exp runs per row
// (expShifted) and the forward divides by Σ exp after P·V, on D values per row. The backward
// recomputes P from lse, as the twin does:
//   dP = dO·Vᵀ,  dS = P ⊙ (dP − Δ)·scale,  dQ = dS·K,  dK += dSᵀ·Q,  dV += Pᵀ·dO.

import type { AttentionShape } from '../reference/attention.ts';
import {
  type AttentionArgs,
  attentionBackwardHead,
  attentionForwardHead,
  attentionHeadUnit,
  backwardSlotFloats,
  forwardSlotFloats,
  type HeadLayout,
} from './attention-heads.ts';
import { type AttentionKernels, createAttentionKernels } from './attention-simd.ts';
import { expShifted, gemm, simdScratch } from './matmul.ts';

/** The direct path's kernels and memory (attention-simd.ts); null without wasm SIMD. */
const kernels = createAttentionKernels();

export type Pass = 'forward' | 'packed forward' | 'backward';

/** Query rows per block (see the top of the file). */
function queryBlock(T: number, window: number, pass: Pass): number {
  if (pass === 'forward') return 8;
  if (pass === 'packed forward') return 16; // packing K costs per block: 8 rows were 10–25% slower
  if (window >= T) return 64;
  return Math.max(16, Math.min(64, window >> 1));
}

/** Rows of the backward's sub-blocks on the direct path (see attentionBackwardDirect). */
export const SUB_BLOCK = 8;

/** The sizes every attention loop here works with: window W ≤ T, width C, query block QB. */
export function blocking(shape: AttentionShape, pass: Pass) {
  const { B, T, H, D } = shape;
  const W = Math.min(shape.window, T);
  return { B, T, H, D, W, C: H * D, scale: shape.scale ?? 1 / Math.sqrt(D), QB: queryBlock(T, W, pass) };
}

/** Whether the direct path (wasm SIMD, D a multiple of 8) runs this shape. */
export function attentionDirect(shape: AttentionShape): boolean {
  return kernels !== null && shape.D % 8 === 0;
}

export function checkShape(shape: AttentionShape, arrays: Float32Array[], lse: Float32Array): void {
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
  const { B, T, H, D, W, C, scale, QB } = blocking(shape, 'packed forward');
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
  const { B, T, H, D, W, C, scale, QB } = blocking(shape, 'backward');
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

// The direct path (wasm SIMD, D a multiple of 8): per batch, q, k, v (and in the backward out,
// dout, lse) are copied into the wasm memory as [T, C] (one memcpy each), and each head runs
// attention-heads.ts on them, a head being a strided view (row stride C) of the batch's copies:
// per head k (and v) are transposed there as [D, Tp] blocks (a SIMD kernel), so that every product
// is the direct kernel on unpacked operands (S = Q·(Kᵀ) with Kᵀ's rows contiguous; P·V, dS·K
// plain; dSᵀ·Q and Pᵀ·dO read dS and P column-wise). Outputs are written in place in the wasm
// copies (D-column panels of each head) and copied out per batch. Score rows are padded to a
// multiple of 8 columns (Tp likewise, zero-filled past T) so that whole 8-column panels can be
// written. All of it runs on attention's own wasm instance (attention-simd.ts: the matmul kernel
// of gemm-simd.ts and the block kernels, sharing a memory), apart from matmul.ts's.

export const pad8 = (n: number) => (n + 7) & ~7;

/** The layout of a call's operands (`copies` tensors of `rows` × C from offset 0) and blocking. */
export function headLayout(shape: AttentionShape, pass: 'forward' | 'backward', rows: number): HeadLayout {
  const { T, H, D, W, C, QB } = blocking(shape, pass);
  const n = rows * C;
  return {
    T,
    H,
    D,
    W,
    QB,
    SB: SUB_BLOCK,
    Tp: pad8(T) + 8,
    ldS: pad8(Math.min(T, QB + W - 1)) + 8,
    oQ: 0,
    oK: n,
    oV: 2 * n,
    oO: 3 * n,
    // The backward's dO, dQ, dK, dV follow O; the forward has none (nothing reads these there).
    oDO: pass === 'backward' ? 4 * n : 0,
    oDQ: pass === 'backward' ? 5 * n : 0,
    oDK: pass === 'backward' ? 6 * n : 0,
    oDV: pass === 'backward' ? 7 * n : 0,
  };
}

/**
 * Where the direct path lays out a call's operands and runs its (batch, head) units: this thread,
 * on attention's own kernels (localRunner), or the worker threads (attention-threads.ts).
 */
export interface HeadRunner {
  /** Scratch slots: one per thread that runs units. */
  readonly slots: number;
  /** Batches of a call laid out in the memory at once. */
  batchesAtOnce(B: number): number;
  scratch(n: number): Float32Array;
  /** Runs units 0 … units − 1 of a call laid out as `args` says. */
  run(pass: 'forward' | 'backward', args: AttentionArgs, scale: number, units: number): void;
}

/** This thread: a batch at a time (the memory holds one), its heads one after another. */
function localRunner(K: AttentionKernels): HeadRunner {
  return {
    slots: 1,
    batchesAtOnce: () => 1,
    scratch: (n) => K.scratch(n),
    run(pass, args, scale, units) {
      const head = pass === 'forward' ? attentionForwardHead : attentionBackwardHead;
      for (let u = 0; u < units; u++) attentionHeadUnit(K, args, head, scale, u, 0);
    },
  };
}

const local = kernels && localRunner(kernels);

/** out [B, T, C] and lse [B, H, T] on the direct path, by `runner`. */
export function attentionForwardOn(
  runner: HeadRunner,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  shape: AttentionShape,
): void {
  const { B, T, H, C, scale } = blocking(shape, 'forward');
  const G = runner.batchesAtOnce(B);
  const A = headLayout(shape, 'forward', G * T);
  // Q, K, V, O of G batches, their lse [G, H, T], then a scratch slot per thread.
  const oLse = 4 * G * T * C;
  const oSlots = pad8(oLse + G * H * T);
  const slotFloats = pad8(forwardSlotFloats(A));
  const size = oSlots + runner.slots * slotFloats;
  const s0 = runner.scratch(size);
  for (let slot = oSlots; slot < size; slot += slotFloats) s0.fill(0, slot, slot + A.D * A.Tp); // Kᵀ's padding
  for (let b0 = 0; b0 < B; b0 += G) {
    const g = Math.min(G, B - b0);
    const lo = b0 * T * C;
    const n = g * T * C;
    const s = runner.scratch(size);
    s.set(q.subarray(lo, lo + n), A.oQ);
    s.set(k.subarray(lo, lo + n), A.oK);
    s.set(v.subarray(lo, lo + n), A.oV);
    runner.run('forward', { ...A, oLse, oSlots, slotFloats }, scale, g * H);
    const r = runner.scratch(size); // the memory may have grown (detaching s)
    out.set(r.subarray(A.oO, A.oO + n), lo);
    lse.set(r.subarray(oLse, oLse + g * H * T), b0 * H * T);
  }
}

/** dq, dk, dv [B, T, C] (overwritten) on the direct path, by `runner`. */
export function attentionBackwardOn(
  runner: HeadRunner,
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
  const { B, T, H, C, scale } = blocking(shape, 'backward');
  const G = runner.batchesAtOnce(B);
  const A = headLayout(shape, 'backward', G * T);
  // Q, K, V, O, dO, dQ, dK, dV of G batches, their lse [G, H, T], then a slot per thread.
  const oLse = 8 * G * T * C;
  const oSlots = pad8(oLse + G * H * T);
  const slotFloats = pad8(backwardSlotFloats(A));
  const size = oSlots + runner.slots * slotFloats;
  const s0 = runner.scratch(size);
  for (let slot = oSlots; slot < size; slot += slotFloats) s0.fill(0, slot, slot + 2 * A.D * A.Tp); // Kᵀ, Vᵀ padding
  for (let b0 = 0; b0 < B; b0 += G) {
    const g = Math.min(G, B - b0);
    const lo = b0 * T * C;
    const n = g * T * C;
    const s = runner.scratch(size);
    s.set(q.subarray(lo, lo + n), A.oQ);
    s.set(k.subarray(lo, lo + n), A.oK);
    s.set(v.subarray(lo, lo + n), A.oV);
    s.set(out.subarray(lo, lo + n), A.oO);
    s.set(dout.subarray(lo, lo + n), A.oDO);
    s.set(lse.subarray(b0 * H * T, (b0 + g) * H * T), oLse);
    s.fill(0, A.oDK, A.oDK + n); // dK and dV collect over query blocks
    s.fill(0, A.oDV, A.oDV + n);
    runner.run('backward', { ...A, oLse, oSlots, slotFloats }, scale, g * H);
    const r = runner.scratch(size);
    dq.set(r.subarray(A.oDQ, A.oDQ + n), lo);
    dk.set(r.subarray(A.oDK, A.oDK + n), lo);
    dv.set(r.subarray(A.oDV, A.oDV + n), lo);
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
  if (path === 'auto' && local && shape.D % 8 === 0) attentionForwardOn(local, q, k, v, out, lse, shape);
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
  if (path === 'auto' && local && shape.D % 8 === 0) {
    attentionBackwardOn(local, q, k, v, out, lse, dout, dq, dk, dv, shape);
  } else {
    attentionBackwardPacked(q, k, v, out, lse, dout, dq, dk, dv, shape);
  }
}
