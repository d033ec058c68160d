import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import {
  attentionBackwardFast,
  attentionDirect,
  attentionForwardFast,
} from '../../../src/gpu/cpu/attention.ts';
import {
  attentionBackwardThreaded,
  attentionForwardThreaded,
  attentionThreaded,
} from '../../../src/gpu/cpu/attention-threads.ts';
import { MatmulThreads } from '../../../src/gpu/cpu/matmul-threads.ts';
import type { AttentionShape } from '../../../src/gpu/reference/attention.ts';

// Attention on worker threads against the one-thread direct path, bit for bit: T not a multiple
// of the query blocks (8 forward, 16 … 64 backward) nor of 4 (Kᵀ's transpose tail), windows
// below and at or past T (global, Infinity), several batches and heads, an odd unit count.

function random(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

const SHAPES: AttentionShape[] = [
  { B: 2, T: 37, H: 3, D: 8, window: 5 },
  { B: 1, T: 70, H: 2, D: 16, window: 33 },
  { B: 3, T: 130, H: 1, D: 8, window: Number.POSITIVE_INFINITY },
  { B: 2, T: 19, H: 2, D: 24, window: 19, scale: 0.3 },
  { B: 1, T: 67, H: 5, D: 8, window: 64 },
];

interface Run {
  out: Float32Array;
  lse: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

function inputs(shape: AttentionShape, seed: number) {
  const n = shape.B * shape.T * shape.H * shape.D;
  return { q: random(n, seed), k: random(n, seed + 1), v: random(n, seed + 2), dout: random(n, seed + 3) };
}

function run(shape: AttentionShape, seed: number, pool: MatmulThreads | null): Run {
  const { q, k, v, dout } = inputs(shape, seed);
  const n = q.length;
  const r: Run = {
    out: new Float32Array(n),
    lse: new Float32Array(shape.B * shape.H * shape.T),
    dq: new Float32Array(n),
    dk: new Float32Array(n),
    dv: new Float32Array(n),
  };
  if (pool) {
    // Stale NaNs in the shared memory show up wherever a unit skipped something.
    pool.scratch(1 << 18).fill(Number.NaN);
    attentionForwardThreaded(pool, q, k, v, r.out, r.lse, shape);
    pool.scratch(1 << 18).fill(Number.NaN);
    attentionBackwardThreaded(pool, q, k, v, r.out, r.lse, dout, r.dq, r.dk, r.dv, shape);
  } else {
    attentionForwardFast(q, k, v, r.out, r.lse, shape);
    attentionBackwardFast(q, k, v, r.out, r.lse, dout, r.dq, r.dk, r.dv, shape);
  }
  return r;
}

describe.runIf(attentionDirect({ B: 1, T: 1, H: 1, D: 8, window: 1 }))('attention on worker threads', () => {
  const pools = [2, 3].map((t) => new MatmulThreads(t));
  afterAll(() => {
    for (const p of pools) p.dispose();
  });

  it('gives the same bits as one thread, forward and backward', async () => {
    for (const pool of pools) {
      await pool.ready();
      for (const [i, shape] of SHAPES.entries()) {
        expect(attentionThreaded(pool, shape)).toBe(true);
        const one = run(shape, 10 * i, null);
        const many = run(shape, 10 * i, pool);
        const where = `${pool.threads} threads, ${JSON.stringify(shape)}`;
        for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
          expect(one[key].some(Number.isNaN), `${where}: ${key}`).toBe(false);
          expect(Array.from(many[key]), `${where}: ${key}`).toEqual(Array.from(one[key]));
        }
      }
    }
  });

  it('gives the same bits with units the workers ran', () => {
    const shape: AttentionShape = { B: 4, T: 200, H: 2, D: 16, window: 200 };
    const one = run(shape, 7, null);
    for (const pool of pools) {
      const before = pool.workerChunks;
      for (let i = 0; i < 50 && pool.workerChunks === before; i++) {
        const many = run(shape, 7, pool);
        for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const)
          expect(Array.from(many[key]), key).toEqual(Array.from(one[key]));
      }
      expect(pool.workerChunks).toBeGreaterThan(before);
    }
  });

  it('leaves one head, one thread or the packed path to attention.ts', () => {
    const [pool] = pools;
    expect(attentionThreaded(pool, { B: 1, T: 9, H: 1, D: 8, window: 4 })).toBe(false);
    expect(attentionThreaded(pool, { B: 2, T: 9, H: 2, D: 12, window: 4 })).toBe(false);
    expect(attentionThreaded(null, { B: 2, T: 9, H: 2, D: 8, window: 4 })).toBe(false);
  });
});
