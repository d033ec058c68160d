// Attention on the matmul threads (matmul-threads.ts): the direct path of attention.ts with its
// (batch, head) units spread over the threads. attention.ts copies every batch's operands into
// the threads' shared memory at once (not a batch at a time) and copies the outputs out; each
// thread runs whole units (attention-heads.ts, the head loops one thread runs too). So the
// results are those of one thread.

import type { AttentionShape } from '../reference/attention.ts';
import {
  attentionBackwardOn,
  attentionDirect,
  attentionForwardOn,
  checkShape,
  type HeadRunner,
} from './attention.ts';
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

/** The threads as attention.ts's runner: every batch at once, units claimed by all threads. */
function threadRunner(pool: MatmulThreads, shape: AttentionShape): HeadRunner {
  return {
    slots: pool.threads,
    batchesAtOnce: (B) => B,
    scratch: (n) => pool.scratch(n),
    run(pass, args, scale, units) {
      const backward = pass === 'backward';
      const kind = backward ? ATTENTION_BACKWARD : ATTENTION_FORWARD;
      pool.runAttention(kind, args, scale, units, macs(shape, backward ? 5 : 2));
    },
  };
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
  attentionForwardOn(threadRunner(pool, shape), q, k, v, out, lse, shape);
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
  attentionBackwardOn(threadRunner(pool, shape), q, k, v, out, lse, dout, dq, dk, dv, shape);
}
