// One (batch, head) of the direct attention path (attention.ts), forward and backward: the loops
// over query blocks on operands already in a wasm memory, by float offsets. attention.ts runs
// them on this thread, unit after unit; the worker threads run their source text
// (attention-threads-source.ts) for the units they claim. One copy of the loops, so a head's
// results are the same to the bit on any thread. Both functions are self-contained (nothing
// from outside their bodies, no nested functions) for that reason.
//
// Per head, queries go in blocks of QB rows, each meeting the keys any of its rows can see:
//   forward  S = Q·Kᵀ (Kᵀ transposed once per head), masked softmax, O = P·V;
//   backward P and dS by sub-blocks of SB rows over the keys each sees, dQ = dS·K, then
//            dK += dSᵀ·Q and dV += Pᵀ·dO (keys past a sub-block's start take only its rows).

import type { AttentionKernels } from './attention-simd.ts';

/** The kernels a head's loops call (float offsets into view()). */
export type HeadKernels = Omit<AttentionKernels, 'fused' | 'scratch'>;

/**
 * Where one call's operands are in the memory (float offsets; q, k, v, out, dout, dq, dk, dv as
 * [rows, C] with C = H·D) and its blocking: window W ≤ T, query block QB, sub-block SB, Kᵀ/Vᵀ
 * row length Tp (past T zero), score row length ldS.
 */
export interface HeadLayout {
  T: number;
  H: number;
  D: number;
  W: number;
  QB: number;
  SB: number;
  Tp: number;
  ldS: number;
  oQ: number;
  oK: number;
  oV: number;
  oO: number;
  oDO: number;
  oDQ: number;
  oDK: number;
  oDV: number;
}

/** Floats of a head's scratch slot: Kᵀ, S and the softmax's (max, Σe) per row. */
export function forwardSlotFloats(A: HeadLayout): number {
  return A.D * A.Tp + A.QB * A.ldS + 2 * A.QB;
}

/** Floats of a head's scratch slot in the backward: Kᵀ, Vᵀ, P, dS and the block's Δ. */
export function backwardSlotFloats(A: HeadLayout): number {
  return 2 * A.D * A.Tp + 2 * A.QB * A.ldS + A.QB;
}

/**
 * O and lse of the head whose first channel is at `hd` (relative to oQ … oO), lse to `lseAt`
 * (T floats); scratch at `slot` (forwardSlotFloats, Kᵀ's padding past T zero).
 */
export function attentionForwardHead(
  K: HeadKernels,
  A: HeadLayout,
  scale: number,
  hd: number,
  lseAt: number,
  slot: number,
): void {
  const { H, T, D, W, QB, Tp, ldS } = A;
  const C = H * D;
  const oKT = slot;
  const oS = oKT + D * Tp;
  const oStats = oS + QB * ldS;
  const s = K.view(); // nothing grows the memory during a head
  K.transpose(A.oK + hd, C, oKT, Tp, T, D);
  for (let t0 = 0; t0 < T; t0 += QB) {
    const nq = Math.min(QB, T - t0);
    const lo = Math.max(0, t0 - W + 1);
    const nk = t0 + nq - lo; // keys lo … t0 + nq − 1
    K.gemm(A.oQ + hd + t0 * C, C, 1, oKT + lo, Tp, oS, ldS, nq, (nk + 7) & ~7, D, false);
    // Row i sees the block-local keys up to t0 + i − lo (and W of them at most).
    K.softmaxRows(oS, ldS, nq, t0 - lo, W, nk, scale, oStats);
    for (let i = 0; i < nq; i++) s[lseAt + t0 + i] = s[oStats + 2 * i] + Math.log(s[oStats + 2 * i + 1]);
    K.gemm(oS, ldS, 1, A.oV + hd + lo * C, C, A.oO + hd + t0 * C, C, nq, D, nk, false);
  }
}

/**
 * dQ of the head at `hd` (written) and its dK, dV (added: zero them first), from its lse at
 * `lseAt`; scratch at `slot` (backwardSlotFloats, Kᵀ's and Vᵀ's padding past T zero).
 */
export function attentionBackwardHead(
  K: HeadKernels,
  A: HeadLayout,
  scale: number,
  hd: number,
  lseAt: number,
  slot: number,
): void {
  const { H, T, D, W, QB, SB, Tp, ldS } = A;
  const C = H * D;
  const oKT = slot;
  const oVT = oKT + D * Tp;
  const oP = oVT + D * Tp;
  const oDS = oP + QB * ldS;
  const oDelta = oDS + QB * ldS;
  K.transpose(A.oK + hd, C, oKT, Tp, T, D);
  K.transpose(A.oV + hd, C, oVT, Tp, T, D);
  for (let t0 = 0; t0 < T; t0 += QB) {
    const nq = Math.min(QB, T - t0);
    const lo = Math.max(0, t0 - W + 1);
    const off = t0 - lo; // keys before the block's first row
    const qo = hd + t0 * C;
    const ko = hd + lo * C;
    K.rowDots(A.oDO + qo, A.oO + qo, C, nq, D, oDelta); // Δ_t = dout_t · out_t
    // P, dS and dQ by sub-blocks of SB rows, each over the keys it can see (lo … its last row):
    // the masked corner computed is SB wide, not QB.
    for (let r0 = 0; r0 < nq; r0 += SB) {
      const nr = Math.min(SB, nq - r0);
      const nkr = off + r0 + nr;
      const rq = qo + r0 * C;
      K.gemm(A.oQ + rq, C, 1, oKT + lo, Tp, oP + r0 * ldS, ldS, nr, (nkr + 7) & ~7, D, false);
      K.gemm(A.oDO + rq, C, 1, oVT + lo, Tp, oDS + r0 * ldS, ldS, nr, (nkr + 7) & ~7, D, false);
      // Row r0 + i sees the block-local keys up to off + r0 + i (W of them at most).
      K.dsRows(oP + r0 * ldS, oDS + r0 * ldS, ldS, nr, off + r0, W, nkr, scale, lseAt + t0 + r0, oDelta + r0);
      K.gemm(oDS + r0 * ldS, ldS, 1, A.oK + ko, C, A.oDQ + rq, C, nr, D, nkr, false);
    }
    // dK += dSᵀ·Q, dV += Pᵀ·dO: keys up to the end of the first sub-block take all the rows;
    // each later SB keys only the rows from the sub-block they fall in (above it, P = dS = 0).
    const head = off + Math.min(SB, nq);
    K.gemm(oDS, 1, ldS, A.oQ + qo, C, A.oDK + ko, C, head, D, nq, true);
    K.gemm(oP, 1, ldS, A.oDO + qo, C, A.oDV + ko, C, head, D, nq, true);
    for (let c0 = SB; c0 < nq; c0 += SB) {
      const nc = Math.min(SB, nq - c0);
      const j = off + c0; // the chunk's first key (block-local)
      const rq = qo + c0 * C;
      K.gemm(oDS + c0 * ldS + j, 1, ldS, A.oQ + rq, C, A.oDK + ko + j * C, C, nc, D, nq - c0, true);
      K.gemm(oP + c0 * ldS + j, 1, ldS, A.oDO + rq, C, A.oDV + ko + j * C, C, nc, D, nq - c0, true);
    }
  }
}

/** A call's layout for a group of batches, where its lse [batches, H, T] is and the slots. */
export type AttentionArgs = HeadLayout & { oLse: number; oSlots: number; slotFloats: number };

type HeadPass = typeof attentionForwardHead;

/**
 * Unit u of a call laid out as A says (batch u / H of the group, head u mod H) on scratch slot
 * `slot`, by `pass` (attentionForwardHead or attentionBackwardHead). Self-contained, as above.
 */
export function attentionHeadUnit(
  K: HeadKernels,
  A: AttentionArgs,
  pass: HeadPass,
  scale: number,
  u: number,
  slot: number,
): void {
  const b = Math.floor(u / A.H);
  const hd = b * A.T * A.H * A.D + (u - b * A.H) * A.D; // the head's first channel
  pass(K, A, scale, hd, A.oLse + u * A.T, A.oSlots + slot * A.slotFloats);
}
