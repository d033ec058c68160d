import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { MATMUL_TILE, matmulSplitK, SPLIT_K_MIN_ROWS, splitKSlices } from '../../src/gpu/ops/matmul.ts';
import { matmulReference } from '../../src/gpu/reference/matmul.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// Split-K computes the same Aᵀ·B as the plain kernel, so its twin is the matmul twin: only the
// order of the f32 sums differs (slices summed apart, then added). Error grows like K·ε·|a||b|;
// with inputs in [-1, 1] and K ≤ 2048: 1e-4 absolute + 1e-4 relative is ~10× what we see.
const TOL = { atol: 1e-4, rtol: 1e-4 };

let ctx: GpuContext;

describe('split-K weight-gradient product vs CPU twin', () => {
  it('gets a WebGPU adapter', async () => {
    ctx = await testGpu();
    expect(ctx.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  // [M, N, K, slices]: partial tiles in every direction, odd slice counts, one slice.
  const cases: Array<[number, number, number, number]> = [
    [64, 64, 2048, 8],
    [7, 13, 768, 3],
    [65, 33, 512, 2],
    [3, 130, 1280, 5],
    [5, 5, 300, 1],
  ];
  for (const [M, N, K, slices] of cases) {
    for (const accumulate of [false, true]) {
      it(`${M}×${N}, K = ${K} in ${slices} slices${accumulate ? ', accumulating with alpha 0.5' : ''}`, async () => {
        const alpha = accumulate ? 0.5 : 1;
        const a = randomArray(K * M, M + K);
        const b = randomArray(K * N, N + K);
        const c0 = randomArray(M * N, slices);
        const ta = createTensor(ctx, [K * M], 'f32', 'A', a);
        const tb = createTensor(ctx, [K * N], 'f32', 'B', b);
        const tc = createTensor(ctx, [M * N], 'f32', 'C', c0);
        const partials = createTensor(ctx, [slices * M * N], 'f32', 'partials');
        await runBatch(ctx, 'split-K test', (batch) =>
          matmulSplitK(batch, ta, tb, tc, partials, { M, N, K, slices, alpha, accumulate }),
        );
        const got = await readTensor(ctx, tc);
        destroyTensors(ta, tb, tc, partials);
        const want = matmulReference(
          a,
          b,
          { M, N, K, transA: true, alpha },
          accumulate ? c0.slice() : undefined,
        );
        expectClose(got, want, TOL);
      });
    }
  }

  it('refuses slices that do not divide K', async () => {
    const t = createTensor(ctx, [64], 'f32', 't');
    await expect(
      runBatch(ctx, 'split-K test', (batch) =>
        matmulSplitK(batch, t, t, t, t, { M: 1, N: 1, K: 10, slices: 3 }),
      ),
    ).rejects.toThrow('K = 10 does not cut into 3 equal slices');
    destroyTensors(t);
  });

  it('splits only where C has fewer tiles than the target and K is long, into divisors of K', () => {
    // One 64×64 tile over 2048 rows: 8 slices of 256 rows (the shortest allowed).
    expect(splitKSlices(64, 64, 2048, 512)).toBe(2048 / SPLIT_K_MIN_ROWS);
    // Enough tiles already: no split.
    expect(splitKSlices(64 * MATMUL_TILE, 8 * MATMUL_TILE, 2048, 512)).toBe(1);
    // A software adapter's small target: 4 workgroups.
    expect(splitKSlices(64, 64, 2048, 4)).toBe(4);
    // K too short to cut.
    expect(splitKSlices(64, 64, 300, 512)).toBe(1);
    // 1500 rows: 5 slices of 300 (6 would not divide it).
    expect(splitKSlices(64, 64, 1500, 512)).toBe(5);
  });
});
