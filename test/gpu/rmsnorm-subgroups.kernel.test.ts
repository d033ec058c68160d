import { describe, expect, it, vi } from 'vitest';
import { CommandBatch, runBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { subgroupsInUse } from '../../src/gpu/features.ts';
import { GpuBackend } from '../../src/gpu/model/gpu-backend.ts';
import {
  RMSNORM_WORKGROUP,
  rmsnormBackward,
  rmsnormForward,
  rmsnormKernel,
} from '../../src/gpu/ops/rmsnorm.ts';
import { completeShader } from '../../src/gpu/ops/shader-constants.ts';
import { composeShader, shaderFamily } from '../../src/gpu/ops/shader-variants.ts';
import { readShader } from '../../src/gpu/platform/node.ts';
import {
  rmsnormBackward as rmsnormBackwardRef,
  rmsnormForward as rmsnormForwardRef,
} from '../../src/gpu/reference/rmsnorm.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// The subgroup variant of RMSNorm (shaders/rmsnorm-subgroups.wgsl) against the float64 twin.
// SwiftShader offers `subgroups`, so it runs here; tolerances as in rmsnorm.kernel.test.ts
// (the sums are reordered, not approximated).
const Y_TOL = { atol: 1e-6, rtol: 1e-5 };
const DX_TOL = { atol: 1e-5, rtol: 1e-4 };
const DW_TOL = { atol: 1e-4, rtol: 1e-5 };

// Rows narrower than the subgroup, than the workgroup (64), not a multiple of either, and wider.
const CASES: Array<[number, number]> = [
  [1, 1],
  [3, 5],
  [7, 63],
  [5, 65],
  [2, 130],
  [9, 1000],
];

/** The context with `subgroups` hidden: what a run sees on an adapter that lacks it. */
function withoutSubgroups(ctx: GpuContext): GpuContext {
  const view = Object.create(ctx) as GpuContext;
  view.hasFeature = (feature) => feature !== 'subgroups' && ctx.hasFeature(feature);
  return view;
}

describe('rmsnorm subgroup variant vs CPU twin', () => {
  it('the loader puts the variant (directive first) before the family file and the family constants after', () => {
    const code = completeShader('rmsnorm-subgroups', composeShader('rmsnorm-subgroups', readShader));
    expect(code.startsWith('enable subgroups;\n')).toBe(true);
    expect(code).toContain(readShader('rmsnorm'));
    expect(code.trimEnd().endsWith(`const WG: u32 = ${RMSNORM_WORKGROUP}u;`)).toBe(true);
    expect(shaderFamily('rmsnorm-subgroups')).toBe('rmsnorm');
    expect(composeShader('rmsnorm', readShader)).toBe(readShader('rmsnorm'));
  });

  it('the test device offers subgroups (SwiftShader does), so the variant really runs', async () => {
    const ctx = await testGpu();
    expect(ctx.hasFeature('subgroups')).toBe(true);
    expect(ctx.adapter.features).toContain('subgroups');
  });

  for (const [N, C] of CASES)
    it(`forward and backward N=${N} C=${C}, written and accumulated`, async () => {
      const ctx = await testGpu();
      const eps = 1e-6;
      const x = randomArray(N * C, 7 * N + C, 3);
      const w = randomArray(C, 7 * N + C + 1, 2);
      const dy = randomArray(N * C, 7 * N + C + 2);
      const dx0 = randomArray(N * C, 7 * N + C + 3);
      const dw0 = randomArray(C, 7 * N + C + 4);
      const tx = createTensor(ctx, [N, C], 'f32', 'x', x);
      const tw = createTensor(ctx, [C], 'f32', 'w', w);
      const ty = createTensor(ctx, [N, C], 'f32', 'y');
      const rstd = createTensor(ctx, [N], 'f32', 'rstd');
      const tdy = createTensor(ctx, [N, C], 'f32', 'dy', dy);
      const dx = createTensor(ctx, [N, C], 'f32', 'dx', dx0);
      const dw = createTensor(ctx, [C], 'f32', 'dw', dw0);
      const dxAcc = createTensor(ctx, [N, C], 'f32', 'dx acc', dx0);
      const dwAcc = createTensor(ctx, [C], 'f32', 'dw acc', dw0);
      const shape = { N, C };
      const pipeline = vi.spyOn(ctx, 'pipeline');
      const options = { rows: 'workgroup', subgroups: true } as const;
      await runBatch(ctx, 'rmsnorm subgroups', (batch) => {
        rmsnormForward(batch, tx, tw, ty, rstd, shape, { eps, ...options });
        rmsnormBackward(batch, tx, tw, rstd, tdy, { dx, dw }, shape, options);
        rmsnormBackward(batch, tx, tw, rstd, tdy, { dx: dxAcc, dw: dwAcc }, shape, {
          accumulateDx: true,
          accumulateDw: true,
          ...options,
        });
      });
      const used = pipeline.mock.calls.map(([shader, entry]) => `${shader}:${entry}`);
      pipeline.mockRestore();
      expect(new Set(used)).toEqual(
        new Set(['rmsnorm-subgroups:forward_subgroups', 'rmsnorm-subgroups:backward_subgroups']),
      );
      const want = rmsnormForwardRef(x, w, N, C, eps);
      expectClose(await readTensor(ctx, ty), want.y, Y_TOL, 'y');
      expectClose(await readTensor(ctx, rstd), want.rstd, Y_TOL, 'rstd');
      const grads = rmsnormBackwardRef(x, w, want.rstd, dy, N, C);
      expectClose(await readTensor(ctx, dx), grads.dx, DX_TOL, 'dx');
      expectClose(await readTensor(ctx, dw), grads.dw, DW_TOL, 'dw');
      const acc = rmsnormBackwardRef(x, w, want.rstd, dy, N, C, { dx: dx0.slice(), dw: dw0.slice() });
      expectClose(await readTensor(ctx, dxAcc), acc.dx, DX_TOL, 'dx accumulated');
      expectClose(await readTensor(ctx, dwAcc), acc.dw, DW_TOL, 'dw accumulated');
      destroyTensors(tx, tw, ty, rstd, tdy, dx, dw, dxAcc, dwAcc);
    });
});

describe('rmsnorm falls back without subgroups', () => {
  it('picks the plain kernels when subgroups are not used, and serial rows never use them', () => {
    expect(rmsnormKernel('forward', 'workgroup', false)).toEqual({
      shader: 'rmsnorm',
      entryPoint: 'forward',
    });
    expect(rmsnormKernel('backward', 'workgroup', false)).toEqual({
      shader: 'rmsnorm',
      entryPoint: 'backward',
    });
    expect(rmsnormKernel('forward', 'invocation', true)).toEqual({
      shader: 'rmsnorm',
      entryPoint: 'forward_serial',
    });
    expect(rmsnormKernel('backward', 'workgroup', true)).toEqual({
      shader: 'rmsnorm-subgroups',
      entryPoint: 'backward_subgroups',
    });
  });

  it("the backend uses subgroups only where the device has them and the setting is not 'off'", async () => {
    const ctx = await testGpu();
    const lacking = withoutSubgroups(ctx);
    expect(subgroupsInUse(ctx, 'auto')).toBe(true);
    expect(subgroupsInUse(ctx, 'off')).toBe(false);
    expect(subgroupsInUse(lacking, 'auto')).toBe(false);
    expect(new GpuBackend(ctx).subgroups).toBe(true);
    expect(new GpuBackend(ctx, { subgroups: 'auto' }).subgroups).toBe(true);
    expect(new GpuBackend(ctx, { subgroups: 'off' }).subgroups).toBe(false);
    expect(new GpuBackend(lacking, { subgroups: 'auto' }).subgroups).toBe(false);
  });

  it('refuses the variant on a device without the feature, naming it, and runs the fallback there', async () => {
    const ctx = await testGpu();
    const lacking = withoutSubgroups(ctx);
    const N = 3;
    const C = 70;
    const x = randomArray(N * C, 11, 3);
    const w = randomArray(C, 12, 2);
    const tx = createTensor(ctx, [N, C], 'f32', 'x', x);
    const tw = createTensor(ctx, [C], 'f32', 'w', w);
    const ty = createTensor(ctx, [N, C], 'f32', 'y');
    const rstd = createTensor(ctx, [N], 'f32', 'rstd');
    const batch = new CommandBatch(lacking, 'no subgroups');
    expect(() => rmsnormForward(batch, tx, tw, ty, rstd, { N, C }, { subgroups: true })).toThrow(
      'rmsnormForward: subgroups = true, but this device lacks the "subgroups" feature',
    );
    const pipeline = vi.spyOn(ctx, 'pipeline');
    await runBatch(ctx, 'rmsnorm fallback', (b) =>
      rmsnormForward(b, tx, tw, ty, rstd, { N, C }, { rows: 'workgroup', subgroups: false }),
    );
    expect(pipeline.mock.calls.map(([shader, entry]) => `${shader}:${entry}`)).toEqual(['rmsnorm:forward']);
    pipeline.mockRestore();
    expectClose(await readTensor(ctx, ty), rmsnormForwardRef(x, w, N, C).y, Y_TOL, 'y');
    destroyTensors(tx, tw, ty, rstd);
  });
});
