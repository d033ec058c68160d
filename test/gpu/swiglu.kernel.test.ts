import { describe, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import { swigluBackward, swigluForward } from '../../src/gpu/ops/swiglu.ts';
import {
  swigluBackward as swigluBackwardRef,
  swigluForward as swigluForwardRef,
} from '../../src/gpu/reference/swiglu.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// A handful of f32 operations and one exp per element. WGSL's exp is accurate to
// 3 + 2·|x| ulps, so |a| up to 12 costs up to ~27 ulps of σ: 1e-5 relative; near-zero
// outputs (a ≈ 0 or b ≈ 0) need a small absolute floor.
const TOL = { atol: 1e-6, rtol: 1e-5 };

describe('swiglu kernels vs CPU twin', () => {
  for (const [N, H] of [
    [1, 8],
    [7, 12],
    [64, 64],
    [130, 12],
  ] as const) {
    it(`forward and backward N=${N} H=${H}`, async () => {
      const ctx = await testGpu();
      const n = N * H;
      const a = randomArray(n, n, 6);
      a[0] = 12; // saturated gate
      if (n > 1) a[1] = -12;
      const b = randomArray(n, n + 1, 2);
      const dout = randomArray(n, n + 2);
      const ta = createTensor(ctx, [n], 'f32', 'a', a);
      const tb = createTensor(ctx, [n], 'f32', 'b', b);
      const out = createTensor(ctx, [n], 'f32', 'out');
      const td = createTensor(ctx, [n], 'f32', 'dout', dout);
      const da = createTensor(ctx, [n], 'f32', 'da');
      const db = createTensor(ctx, [n], 'f32', 'db');
      await runBatch(ctx, 'swiglu', (batch) => {
        swigluForward(batch, ta, tb, out);
        swigluBackward(batch, ta, tb, td, da, db);
      });
      expectClose(await readTensor(ctx, out), swigluForwardRef(a, b), TOL, 'out');
      const want = swigluBackwardRef(a, b, dout);
      expectClose(await readTensor(ctx, da), want.da, TOL, 'da');
      expectClose(await readTensor(ctx, db), want.db, TOL, 'db');
      destroyTensors(ta, tb, out, td, da, db);
    });
  }

  it('stays finite for very large |a| (no exp overflow)', async () => {
    const ctx = await testGpu();
    const a = Float32Array.from([100, -100, 1e4, -1e4, 88.5, -88.5, 0]);
    const b = Float32Array.from([1, 1, 1, 1, 1, 1, 1]);
    const ta = createTensor(ctx, [7], 'f32', 'a', a);
    const tb = createTensor(ctx, [7], 'f32', 'b', b);
    const out = createTensor(ctx, [7], 'f32', 'out');
    const da = createTensor(ctx, [7], 'f32', 'da');
    const db = createTensor(ctx, [7], 'f32', 'db');
    await runBatch(ctx, 'swiglu extremes', (batch) => {
      swigluForward(batch, ta, tb, out);
      swigluBackward(batch, ta, tb, tb, da, db);
    });
    expectClose(await readTensor(ctx, out), swigluForwardRef(a, b), TOL, 'out');
    const want = swigluBackwardRef(a, b, b);
    expectClose(await readTensor(ctx, da), want.da, TOL, 'da');
    expectClose(await readTensor(ctx, db), want.db, TOL, 'db');
    destroyTensors(ta, tb, out, da, db);
  });
});
