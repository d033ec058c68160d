// Attention on the matmul threads (matmul-threads.ts): the direct path of attention.ts with its
// (batch, head) units spread over the threads. The caller copies every batch's operands into the
// threads' shared memory at once (not a batch at a time), zeroes the scratch slots' padding and
// the sums, publishes the job; each thread runs whole units (attention-heads.ts, the head loops
// one thread runs too), and the caller copies the outputs out. So the results are those of one
// thread.

import type { AttentionShape } from '../reference/attention.ts';
import { attentionDirect, blocking, checkShape, headLayout, pad8 } from './attention.ts';
import { backwardSlotFloats, forwardSlotFloats } from './attention-heads.ts';
import type { MatmulThreads } from './matmul-threads.ts';
import { ATTENTION_BACKWARD, ATTENTION_FORWARD } from './matmul-threads-control.ts';

/** Units a job may have: the claim counter's 16 bits (matmul-threads-control.ts). */
const MAX_UNITS = 0xffff;

/**
 * Whether attention of this shape runs on the threads: the direct path, two (batch, head) units
 * or more (and not more than the counter holds).
 */
export function attentionThreaded(pool: MatmulThreads | null, shape: AttentionShape): pool is MatmulThreads {
  const units = shape.B * shape.H;
  return pool !== null && pool.threads > 1 && units >= 2 && units <= MAX_UNITS && attentionDirect(shape);
}

/** Multiply-adds of a pass, roughly (for the threads' time-out only). */
function macs(shape: AttentionShape, products: number): number {
  const { B, T, H, D } = shape;
  return products * B * H * T * Math.min(T, shape.window + 64) * D;
}

export function attentionForwardThreaded(
  pool: MatmulThreads,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  shape: AttentionShape,
): void {
  checkShape(shape, [q, k, v, out], lse);
  const { B, T, H, C, scale } = blocking(shape, 'forward');
  const N = B * T * C;
  // Q, K, V, O of all batches, lse [B, H, T], then a slot per thread.
  const A = headLayout(shape, 'forward', B * T);
  const oLse = 4 * N;
  const oSlots = pad8(oLse + B * H * T);
  const slotFloats = pad8(forwardSlotFloats(A));
  const s = pool.scratch(oSlots + pool.threads * slotFloats);
  s.set(q.subarray(0, N), A.oQ);
  s.set(k.subarray(0, N), A.oK);
  s.set(v.subarray(0, N), A.oV);
  for (let t = 0; t < pool.threads; t++) {
    const slot = oSlots + t * slotFloats;
    s.fill(0, slot, slot + A.D * A.Tp); // Kᵀ's padding past T is read (and ignored) by whole panels
  }
  pool.runAttention(ATTENTION_FORWARD, { ...A, oLse, oSlots, slotFloats }, scale, B * H, macs(shape, 2));
  const r = pool.scratch(0); // the memory may have grown (detaching s)
  out.set(r.subarray(A.oO, A.oO + N));
  lse.set(r.subarray(oLse, oLse + B * H * T));
}

export function attentionBackwardThreaded(
  pool: MatmulThreads,
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
  const { B, T, H, C, scale } = blocking(shape, 'backward');
  const N = B * T * C;
  // Q, K, V, O, dO, dQ, dK, dV of all batches, lse [B, H, T], then a slot per thread.
  const A = headLayout(shape, 'backward', B * T);
  const oLse = 8 * N;
  const oSlots = pad8(oLse + B * H * T);
  const slotFloats = pad8(backwardSlotFloats(A));
  const s = pool.scratch(oSlots + pool.threads * slotFloats);
  s.set(q.subarray(0, N), A.oQ);
  s.set(k.subarray(0, N), A.oK);
  s.set(v.subarray(0, N), A.oV);
  s.set(out.subarray(0, N), A.oO);
  s.set(dout.subarray(0, N), A.oDO);
  s.fill(0, A.oDK, A.oDV + N); // dK and dV collect over query blocks
  s.set(lse.subarray(0, B * H * T), oLse);
  for (let t = 0; t < pool.threads; t++) {
    const slot = oSlots + t * slotFloats;
    s.fill(0, slot, slot + 2 * A.D * A.Tp); // Kᵀ and Vᵀ padding
  }
  pool.runAttention(ATTENTION_BACKWARD, { ...A, oLse, oSlots, slotFloats }, scale, B * H, macs(shape, 5));
  const r = pool.scratch(0);
  dq.set(r.subarray(A.oDQ, A.oDQ + N));
  dk.set(r.subarray(A.oDK, A.oDK + N));
  dv.set(r.subarray(A.oDV, A.oDV + N));
}
