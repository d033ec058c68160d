import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import { rmsnormBackward, rmsnormForward } from '../../src/gpu/ops/rmsnorm.ts';
import {
  rmsnormBackward as rmsnormBackwardRef,
  rmsnormForward as rmsnormForwardRef,
} from '../../src/gpu/reference/rmsnorm.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// Inputs in [-1, 1] (x scaled by 3), w in [-2, 2]. The f32 kernels reduce in a different
// order than the float64 twin:
// - y, rstd: a sum of C squares and a reciprocal square root, a few ulps → 1e-5 relative.
// - dx: r·(g − x̂·mean(g x̂)) cancels; the error is a few ulps of |g|·r ≲ 1e-6 absolute.
// - dw: a sum over N rows (two-level: 32-row blocks, then the blocks, one invocation per
//   column) of |terms| ≲ 4: error ~ √N·ε·4, ≲ 1e-5 even at N = 65 600.
const Y_TOL = { atol: 1e-6, rtol: 1e-5 };
const DX_TOL = { atol: 1e-5, rtol: 1e-4 };
const DW_TOL = { atol: 1e-4, rtol: 1e-5 };

const CASES: Array<[number, number]> = [
  [1, 8],
  [7, 12],
  [64, 64],
  [130, 12],
  [130, 300], // C above the workgroup size: several columns per invocation
];

describe('rmsnorm kernels vs CPU twin', () => {
  for (const [N, C] of CASES)
    for (const rows of ['workgroup', 'invocation'] as const) {
      it(`forward and backward N=${N} C=${C}, a ${rows} per row`, async () => {
        const ctx = await testGpu();
        const eps = 1e-6;
        const x = randomArray(N * C, N + C, 3);
        const w = randomArray(C, N + C + 1, 2);
        const dy = randomArray(N * C, N + C + 2);
        const dx0 = randomArray(N * C, N + C + 3);
        const dw0 = randomArray(C, N + C + 4);
        const tx = createTensor(ctx, [N, C], 'f32', 'x', x);
        const tw = createTensor(ctx, [C], 'f32', 'w', w);
        const ty = createTensor(ctx, [N, C], 'f32', 'y');
        const rstd = createTensor(ctx, [N], 'f32', 'rstd');
        const tdy = createTensor(ctx, [N, C], 'f32', 'dy', dy);
        const dx = createTensor(ctx, [N, C], 'f32', 'dx', dx0); // overwritten
        const dw = createTensor(ctx, [C], 'f32', 'dw', dw0);
        const dxAcc = createTensor(ctx, [N, C], 'f32', 'dx acc', dx0);
        const dwAcc = createTensor(ctx, [C], 'f32', 'dw acc', dw0);
        const shape = { N, C };
        await runBatch(ctx, 'rmsnorm', (batch) => {
          rmsnormForward(batch, tx, tw, ty, rstd, shape, { eps, rows });
          rmsnormBackward(batch, tx, tw, rstd, tdy, { dx, dw }, shape, { rows });
          rmsnormBackward(batch, tx, tw, rstd, tdy, { dx: dxAcc, dw: dwAcc }, shape, {
            accumulateDx: true,
            accumulateDw: true,
            rows,
          });
        });
        const want = rmsnormForwardRef(x, w, N, C, eps);
        expectClose(await readTensor(ctx, ty), want.y, Y_TOL, 'y');
        const gotRstd = await readTensor(ctx, rstd);
        expectClose(gotRstd, want.rstd, Y_TOL, 'rstd');
        const grads = rmsnormBackwardRef(x, w, want.rstd, dy, N, C);
        expectClose(await readTensor(ctx, dx), grads.dx, DX_TOL, 'dx');
        expectClose(await readTensor(ctx, dw), grads.dw, DW_TOL, 'dw');
        const acc = rmsnormBackwardRef(x, w, want.rstd, dy, N, C, { dx: dx0.slice(), dw: dw0.slice() });
        expectClose(await readTensor(ctx, dxAcc), acc.dx, DX_TOL, 'dx accumulated');
        expectClose(await readTensor(ctx, dwAcc), acc.dw, DW_TOL, 'dw accumulated');
        destroyTensors(tx, tw, ty, rstd, tdy, dx, dw, dxAcc, dwAcc);
      });
    }

  // SwiftShader runs workgroups with barriers slowly (~0.2 ms each), so the big shapes run
  // only what they are for.
  it('forward with more rows than workgroups along x (2-D grid), N=65600 C=2', async () => {
    const ctx = await testGpu();
    const N = 65_600;
    const C = 2;
    const x = randomArray(N * C, 1, 3);
    const w = randomArray(C, 2, 2);
    const tx = createTensor(ctx, [N, C], 'f32', 'x', x);
    const tw = createTensor(ctx, [C], 'f32', 'w', w);
    const ty = createTensor(ctx, [N, C], 'f32', 'y');
    const rstd = createTensor(ctx, [N], 'f32', 'rstd');
    await runBatch(ctx, 'rmsnorm 2-D', (batch) => rmsnormForward(batch, tx, tw, ty, rstd, { N, C }));
    const want = rmsnormForwardRef(x, w, N, C);
    expectClose(await readTensor(ctx, ty), want.y, Y_TOL, 'y');
    expectClose(await readTensor(ctx, rstd), want.rstd, Y_TOL, 'rstd');
    destroyTensors(tx, tw, ty, rstd);
  });

  it('dx and dw in one dispatch over many rows, N=33000 C=3, serial dx', async () => {
    const ctx = await testGpu();
    const N = 33_000;
    const C = 3;
    const x = randomArray(N * C, 3, 3);
    const w = randomArray(C, 4, 2);
    const dy = randomArray(N * C, 5);
    const want = rmsnormForwardRef(x, w, N, C);
    const grads = rmsnormBackwardRef(x, w, want.rstd, dy, N, C);
    const tx = createTensor(ctx, [N, C], 'f32', 'x', x);
    const tw = createTensor(ctx, [C], 'f32', 'w', w);
    const rstd = createTensor(ctx, [N], 'f32', 'rstd', want.rstd);
    const tdy = createTensor(ctx, [N, C], 'f32', 'dy', dy);
    const dx = createTensor(ctx, [N, C], 'f32', 'dx');
    const dw = createTensor(ctx, [C], 'f32', 'dw');
    const before = ctx.counters.dispatches;
    await runBatch(ctx, 'rmsnorm big dw', (batch) =>
      rmsnormBackward(batch, tx, tw, rstd, tdy, { dx, dw }, { N, C }, { rows: 'invocation' }),
    );
    expect(ctx.counters.dispatches - before).toBe(1);
    expectClose(await readTensor(ctx, dx), grads.dx, DX_TOL, 'dx');
    expectClose(await readTensor(ctx, dw), grads.dw, DW_TOL, 'dw');
    destroyTensors(tx, tw, rstd, tdy, dx, dw);
  });

  it('rejects a dw that is too small and in-place output', async () => {
    const ctx = await testGpu();
    const N = 100;
    const C = 8;
    const t = (n: number, label: string) => createTensor(ctx, [n], 'f32', label);
    const [x, w, rstd, dy, dx, dw] = [
      t(N * C, 'x'),
      t(C, 'w'),
      t(N, 'rstd'),
      t(N * C, 'dy'),
      t(N * C, 'dx'),
      t(C, 'dw'),
    ];
    const small = t(C - 1, 'small dw');
    await runBatch(ctx, 'errors', (batch) => {
      expect(() => rmsnormBackward(batch, x, w, rstd, dy, { dx, dw: small }, { N, C })).toThrow(
        /dw "small dw" has 7 elements, needs 8/,
      );
      expect(() => rmsnormBackward(batch, x, w, rstd, dy, { dx, dw: dx }, { N, C })).toThrow(/same buffer/);
      expect(() => rmsnormForward(batch, x, w, x, rstd, { N, C })).toThrow(/same buffer/);
    });
    destroyTensors(x, w, rstd, dy, dx, dw, small);
  });
});
