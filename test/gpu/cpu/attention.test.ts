import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import { attentionBackwardFast, attentionForwardFast } from '../../../src/gpu/cpu/attention.ts';
import {
  type AttentionShape,
  attentionBackwardReference,
  attentionForwardReference,
} from '../../../src/gpu/reference/attention.ts';

// The fast attention against its float64 twin, on awkward shapes: T = 1, T not a multiple of the
// query block (8 … 64), odd D, window 1, windows that cut blocks anywhere, global (W ≥ T and ∞).
// Tolerance: every output is a chain of at most three sums (scores over D channels; softmax and
// P·V over the visible keys, ≤ T; the backward's dS·K, dSᵀ·Q, Pᵀ·dO over ≤ T) of products of
// O(1) float32 values (inputs in [−1, 1], P ≤ 1), each sum of n terms off by ≤ n·2⁻²⁴ of its
// magnitude in float32, so per tensor |fast − ref| ≤ 3·(D + T)·2⁻²⁴ · max(1, max|ref|).
// The SIMD exp forms its argument in float32, which adds |a|·2⁻²⁴ relative to a weight
// e^−|a|, at most 2⁻²⁴/e absolute: inside the same bound; so is the backward's dS, formed in
// float32 in SIMD (three roundings of |dS|), and on the direct path Δ = dO·O, a float32 sum over
// D channels like the scores, and P normalised before P·V (one more rounding of each weight).
// Both paths are checked: the direct one (wasm, D a multiple of 8: whole blocks of rows per
// kernel call, Kᵀ by 4×4 blocks, T mod 4 rows apart) and the packed one (any D).

const U = 2 ** -24;

function random(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

function expectNear(fast: Float32Array, ref: Float32Array, shape: AttentionShape, what: string): void {
  let max = 1;
  for (const x of ref) max = Math.max(max, Math.abs(x));
  const tol = 3 * (shape.D + shape.T) * U * max;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(fast[i] - ref[i]));
  expect(worst, `${what} ${JSON.stringify(shape)}`).toBeLessThanOrEqual(tol);
}

const SHAPES: AttentionShape[] = [
  { B: 1, T: 1, H: 1, D: 1, window: 1 },
  { B: 2, T: 5, H: 3, D: 3, window: 2 },
  { B: 1, T: 17, H: 1, D: 8, window: 1 },
  { B: 2, T: 33, H: 2, D: 5, window: 7 },
  { B: 1, T: 70, H: 3, D: 8, window: 16 },
  { B: 1, T: 70, H: 1, D: 6, window: 33 },
  { B: 1, T: 70, H: 2, D: 4, window: 70 },
  { B: 1, T: 131, H: 1, D: 12, window: Number.POSITIVE_INFINITY },
  { B: 1, T: 131, H: 1, D: 16, window: 100, scale: 0.3 },
  { B: 2, T: 77, H: 2, D: 32, window: 20 },
  { B: 1, T: 130, H: 1, D: 64, window: 130 },
  // Several batches and heads as strided views of whole arrays, T not a multiple of 8, and a
  // negative scale (the row max then cannot be taken before scaling).
  { B: 3, T: 45, H: 3, D: 8, window: Number.POSITIVE_INFINITY },
  { B: 2, T: 29, H: 2, D: 16, window: 9, scale: -0.5 },
  // The backward's 64-row blocks split in 8-row sub-blocks (a short last one, a short last
  // block), windowed (W ≥ 128 gives 64-row blocks) and global with W = T exactly.
  { B: 1, T: 301, H: 1, D: 8, window: 150 },
  { B: 2, T: 203, H: 2, D: 8, window: 203 },
];

describe('attention (fast) against the twin', () => {
  for (const shape of SHAPES)
    for (const path of ['auto', 'packed'] as const) {
      it(`forward and backward (${path}), ${JSON.stringify(shape)}`, () => {
        const { B, T, H, D } = shape;
        const n = B * T * H * D;
        const q = random(n, 1 + T);
        const k = random(n, 2 + D);
        const v = random(n, 3 + H);
        const dout = random(n, 4 + B);
        const ref = attentionForwardReference(q, k, v, shape);
        const out = new Float32Array(n).fill(Number.NaN);
        const lse = new Float32Array(B * H * T).fill(Number.NaN);
        attentionForwardFast(q, k, v, out, lse, shape, path);
        expectNear(out, ref.out, shape, 'out');
        expectNear(lse, ref.lse, shape, 'lse');

        const g = attentionBackwardReference(q, k, v, ref.out, ref.lse, dout, shape);
        const dq = new Float32Array(n).fill(Number.NaN);
        const dk = new Float32Array(n).fill(Number.NaN);
        const dv = new Float32Array(n).fill(Number.NaN);
        attentionBackwardFast(q, k, v, ref.out, ref.lse, dout, dq, dk, dv, shape, path);
        expectNear(dq, g.dq, shape, 'dq');
        expectNear(dk, g.dk, shape, 'dk');
        expectNear(dv, g.dv, shape, 'dv');
      });
    }
});
