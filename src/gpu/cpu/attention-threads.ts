// Attention on the matmul threads (matmul-threads.ts): the direct path of attention.ts with its
// (batch, head) units spread over the threads. The caller copies every batch's operands into the
// threads' shared memory at once (not a batch at a time), zeroes the scratch slots' padding and
// the sums, publishes the job; each thread runs whole units (attention-threads-source.ts: the
// loops of attentionForwardDirect / attentionBackwardDirect for one head, same kernels, same
// order), and the caller copies the outputs out. So the results are those of one thread.

import type { AttentionShape } from '../reference/attention.ts';
import { attentionDirect, blocking, checkShape, pad8, SUB_BLOCK } from './attention.ts';
import type { AttentionArgs } from './attention-threads-source.ts';
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
  const { B, T, H, D, W, C, scale, QB } = blocking(shape, 'forward');
  const N = B * T * C;
  const Tp = pad8(T) + 8;
  const ldS = pad8(Math.min(T, QB + W - 1)) + 8;
  // Float offsets: Q, K, V, O (all batches), lse [B, H, T], then a slot per thread: one head's Kᵀ,
  // S, the softmax's (max, Σe) per row.
  const oLse = 4 * N;
  const oSlots = pad8(oLse + B * H * T);
  const slotFloats = pad8(D * Tp + QB * ldS + 2 * QB);
  const s = pool.scratch(oSlots + pool.threads * slotFloats);
  s.set(q.subarray(0, N), 0);
  s.set(k.subarray(0, N), N);
  s.set(v.subarray(0, N), 2 * N);
  for (let t = 0; t < pool.threads; t++) {
    const slot = oSlots + t * slotFloats;
    s.fill(0, slot, slot + D * Tp); // Kᵀ's padding past T is read (and ignored) by whole panels
  }
  const args: AttentionArgs = {
    B,
    T,
    H,
    D,
    W,
    QB,
    SB: SUB_BLOCK,
    Tp,
    ldS,
    oQ: 0,
    oK: N,
    oV: 2 * N,
    oO: 3 * N,
    oDO: 0,
    oDQ: 0,
    oDK: 0,
    oDV: 0,
    oLse,
    oSlots,
    slotFloats,
  };
  pool.runAttention(ATTENTION_FORWARD, args, scale, B * H, macs(shape, 2));
  const r = pool.scratch(0); // the memory may have grown (detaching s)
  out.set(r.subarray(3 * N, 4 * N));
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
  const { B, T, H, D, W, C, scale, QB } = blocking(shape, 'backward');
  const N = B * T * C;
  const Tp = pad8(T) + 8;
  const ldS = pad8(Math.min(T, QB + W - 1)) + 8;
  // Float offsets: Q, K, V, O, dO, dQ, dK, dV (all batches), lse [B, H, T], then a slot per
  // thread: one head's Kᵀ and Vᵀ, P, dS, the block's Δ.
  const oLse = 8 * N;
  const oSlots = pad8(oLse + B * H * T);
  const slotFloats = pad8(2 * D * Tp + 2 * QB * ldS + QB);
  const s = pool.scratch(oSlots + pool.threads * slotFloats);
  s.set(q.subarray(0, N), 0);
  s.set(k.subarray(0, N), N);
  s.set(v.subarray(0, N), 2 * N);
  s.set(out.subarray(0, N), 3 * N);
  s.set(dout.subarray(0, N), 4 * N);
  s.fill(0, 6 * N, 8 * N); // dK and dV collect over query blocks
  s.set(lse.subarray(0, B * H * T), oLse);
  for (let t = 0; t < pool.threads; t++) {
    const slot = oSlots + t * slotFloats;
    s.fill(0, slot, slot + 2 * D * Tp); // Kᵀ and Vᵀ padding
  }
  const args: AttentionArgs = {
    B,
    T,
    H,
    D,
    W,
    QB,
    SB: SUB_BLOCK,
    Tp,
    ldS,
    oQ: 0,
    oK: N,
    oV: 2 * N,
    oO: 3 * N,
    oDO: 4 * N,
    oDQ: 5 * N,
    oDK: 6 * N,
    oDV: 7 * N,
    oLse,
    oSlots,
    slotFloats,
  };
  pool.runAttention(ATTENTION_BACKWARD, args, scale, B * H, macs(shape, 5));
  const r = pool.scratch(0);
  dq.set(r.subarray(5 * N, 6 * N));
  dk.set(r.subarray(6 * N, 7 * N));
  dv.set(r.subarray(7 * N, 8 * N));
}
