import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import { countNonFinite } from '../../src/gpu/ops/finite-check.ts';
import { countNonFinite as countNonFiniteRef } from '../../src/gpu/reference/finite-check.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

const EXTREMES = [
  3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45, -0, 0, 1.1754943508222875e-38,
];

describe('finite-check kernel vs CPU twin', () => {
  // One element; one partial workgroup; exactly one workgroup; a few workgroups and a tail.
  for (const n of [1, 200, 256 * 16, 256 * 16 * 3 + 7]) {
    it(`counts NaN and ±∞ among ${n} elements, never finite extremes`, async () => {
      const ctx = await testGpu();
      const x = randomArray(n, n, 4);
      for (let i = 0; i < EXTREMES.length && i < n; i++) x[(i * 37) % n] = EXTREMES[i];
      const clean = countNonFiniteRef(x);
      expect(clean).toBe(0);
      const poisoned = x.slice();
      const bad = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
      // The first and last elements (edges of the grid) and some in between.
      for (const [k, i] of [0, n - 1, Math.floor(n / 2), Math.floor(n / 3)].entries())
        poisoned[i] = bad[k % 3];
      const tx = createTensor(ctx, [n], 'f32', 'x', x);
      const tp = createTensor(ctx, [n], 'f32', 'poisoned', poisoned);
      const cleanCount = createTensor(ctx, [1], 'u32', 'clean count', new Uint32Array(1));
      const shared = createTensor(ctx, [1], 'u32', 'shared count', new Uint32Array(1));
      await runBatch(ctx, 'finite check', (batch) => {
        countNonFinite(batch, tx, cleanCount);
        // Two tensors into one counter: the sum.
        countNonFinite(batch, tp, shared);
        countNonFinite(batch, tp, shared);
      });
      expect((await readTensor(ctx, cleanCount))[0]).toBe(0);
      expect((await readTensor(ctx, shared))[0]).toBe(2 * countNonFiniteRef(poisoned));
      destroyTensors(tx, tp, cleanCount, shared);
    });
  }

  it('counts only the first n elements', async () => {
    const ctx = await testGpu();
    const x = Float32Array.from([1, Number.NaN, 2, Number.POSITIVE_INFINITY]);
    const tx = createTensor(ctx, [4], 'f32', 'x', x);
    const count = createTensor(ctx, [1], 'u32', 'count', new Uint32Array(1));
    await runBatch(ctx, 'finite check prefix', (batch) => countNonFinite(batch, tx, count, 3));
    expect((await readTensor(ctx, count))[0]).toBe(countNonFiniteRef(x, 3));
    expect(countNonFiniteRef(x, 3)).toBe(1);
    destroyTensors(tx, count);
  });
});
