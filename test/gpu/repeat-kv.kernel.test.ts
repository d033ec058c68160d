import { describe, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import { repeatKvBackward, repeatKvForward } from '../../src/gpu/ops/repeat-kv.ts';
import {
  type HeadGroupShape,
  repeatKvBackward as repeatKvBackwardRef,
  repeatKvForward as repeatKvForwardRef,
} from '../../src/gpu/reference/repeat-kv.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// The forward is a copy, and the backward adds the group's f32 values in the same order
// (from 0, query head by query head) as the twin on Float32Array: bit-identical results.
const EXACT = { atol: 0, rtol: 0 };

describe('repeat-kv kernels vs CPU twin', () => {
  const shapes: HeadGroupShape[] = [
    { N: 1, heads: 2, kvHeads: 1, D: 2 },
    { N: 7, heads: 6, kvHeads: 2, D: 8 },
    { N: 5, heads: 4, kvHeads: 4, D: 6 },
    { N: 33, heads: 8, kvHeads: 2, D: 16 },
    { N: 130, heads: 12, kvHeads: 3, D: 64 },
  ];
  for (const shape of shapes) {
    const { N, heads, kvHeads, D } = shape;
    it(`forward and backward N=${N} heads=${heads} kvHeads=${kvHeads} D=${D}`, async () => {
      const ctx = await testGpu();
      const narrow = N * kvHeads * D;
      const wide = N * heads * D;
      const x = randomArray(narrow, narrow + 1);
      const dy = randomArray(wide, wide + 2);
      const tx = createTensor(ctx, [narrow], 'f32', 'x', x);
      const ty = createTensor(ctx, [wide], 'f32', 'y');
      const tdy = createTensor(ctx, [wide], 'f32', 'dy', dy);
      const tdx = createTensor(ctx, [narrow], 'f32', 'dx');
      await runBatch(ctx, 'repeat-kv', (batch) => {
        repeatKvForward(batch, tx, ty, shape);
        repeatKvBackward(batch, tdy, tdx, shape);
      });
      expectClose(await readTensor(ctx, ty), repeatKvForwardRef(x, shape), EXACT, 'y');
      expectClose(await readTensor(ctx, tdx), repeatKvBackwardRef(dy, shape), EXACT, 'dx');
      destroyTensors(tx, ty, tdy, tdx);
    });
  }
});
