import { describe, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import { biasBackward, biasForward } from '../../src/gpu/ops/bias.ts';
import {
  biasBackward as biasBackwardRef,
  biasForward as biasForwardRef,
} from '../../src/gpu/reference/bias.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

const EXACT = { atol: 0, rtol: 0 };
const U = 2 ** -24; // f32 unit roundoff

/**
 * The kernel sums each column in f32, the twin in f64 (rounded once). Each f32 addition is
 * off by at most u · |its result|, so a column is off by at most u · Σ_k |s_k| over its
 * partial sums s_k, plus u · |db| for the final add into db: a bound from the data itself.
 */
function columnSumBound(dy: Float32Array, db0: Float32Array, N: number, C: number): number {
  let worst = 0;
  for (let c = 0; c < C; c++) {
    let s = 0;
    let drift = 0;
    for (let n = 0; n < N; n++) {
      s += dy[n * C + c];
      drift += Math.abs(s);
    }
    worst = Math.max(worst, U * (drift + 2 * Math.abs(s + db0[c])));
  }
  return worst;
}

describe('bias kernels vs CPU twin', () => {
  for (const [N, C] of [
    [1, 1],
    [7, 12],
    [64, 65],
    [130, 64],
  ] as const) {
    it(`forward and backward N=${N} C=${C}`, async () => {
      const ctx = await testGpu();
      const y0 = randomArray(N * C, N * C);
      const b = randomArray(C, C + 1, 2);
      const dy = randomArray(N * C, N * C + 2);
      const db0 = randomArray(C, C + 3); // db accumulates
      const ty = createTensor(ctx, [N * C], 'f32', 'y', y0);
      const tb = createTensor(ctx, [C], 'f32', 'b', b);
      const tdy = createTensor(ctx, [N * C], 'f32', 'dy', dy);
      const tdb = createTensor(ctx, [C], 'f32', 'db', db0);
      await runBatch(ctx, 'bias', (batch) => {
        biasForward(batch, tb, ty, { N, C });
        biasBackward(batch, tdy, tdb, { N, C });
      });
      // One f32 add per element, as the twin does on a Float32Array: bit-identical.
      const y = Float32Array.from(y0);
      biasForwardRef(y, b, N, C);
      expectClose(await readTensor(ctx, ty), y, EXACT, 'y');
      const db = Float32Array.from(db0);
      biasBackwardRef(dy, db, N, C);
      const atol = columnSumBound(dy, db0, N, C);
      expectClose(await readTensor(ctx, tdb), db, { atol, rtol: 0 }, 'db');
      destroyTensors(ty, tb, tdy, tdb);
    });
  }
});
