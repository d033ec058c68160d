import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { AdamW, type GpuParamGroup, gradNormSlots } from '../../src/gpu/ops/adamw.ts';
import {
  type AdamWHyperparameters,
  adamwStepReference,
  type CpuParamGroup,
} from '../../src/gpu/reference/adamw.ts';
import { createTensor, destroyTensors, readTensor, type Tensor, writeTensor } from '../../src/gpu/tensor.ts';
import { cpuAdamWParam } from '../harness/adamw.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// The GPU does every step in f32; the twin keeps m, v, p in f32 but computes each update in
// float64. Per step that is a few ulps in m, v and in the ratio m̂/(√v̂ + ε), i.e. ~1e-6
// relative of lr-sized updates on parameters of order 1: 1e-6 absolute + relative after
// three steps. The norm is an f32 sum of ~7000 squares (in blocks) against a float64 sum: 1e-6
// relative. m = β1·m + (1 − β1)·g cancels when g changes sign, so its error is a few ulps of
// the terms (|g| ≤ 0.5: ulp 3e-8), not of the result: 1e-7 absolute. A frozen group must be
// bit-identical.
const PARAM_TOL = { atol: 1e-6, rtol: 1e-6 };
const MOMENT_TOL = { atol: 1e-7, rtol: 1e-5 };
const NORM_TOL = { atol: 0, rtol: 1e-6 };

interface Spec {
  name: string;
  lr: number;
  weightDecay: number;
  sizes: number[];
  excludeFromNorm?: boolean;
}

// Sizes not multiples of 256; 5000 needs several norm slots; one group frozen, one excluded.
const SPECS: Spec[] = [
  { name: 'matrices', lr: 0.01, weightDecay: 0.1, sizes: [300, 5000] },
  { name: 'norms', lr: 0.003, weightDecay: 0, sizes: [1, 12] },
  { name: 'frozen', lr: 0, weightDecay: 0.1, sizes: [257, 64] },
  { name: 'adapter', lr: 0.02, weightDecay: 0.01, sizes: [130], excludeFromNorm: true },
];

function build(ctx: GpuContext, seed: number) {
  const cpu: CpuParamGroup[] = [];
  const gpu: GpuParamGroup[] = [];
  const tensors: Tensor[] = [];
  SPECS.forEach((spec, gi) => {
    const cpuParams = spec.sizes.map((n, pi) => {
      const p = randomArray(n, seed + gi * 10 + pi);
      const g = randomArray(n, seed + gi * 10 + pi + 100, 0.5);
      return cpuAdamWParam(p, g);
    });
    const gpuParams = cpuParams.map((p, pi) => {
      const param = createTensor(ctx, [p.param.length], 'f32', `${spec.name}.${pi}`, p.param);
      const grad = createTensor(ctx, [p.grad.length], 'f32', `${spec.name}.${pi}.grad`, p.grad);
      tensors.push(param, grad);
      return { param, grad };
    });
    cpu.push({
      name: spec.name,
      lr: spec.lr,
      weightDecay: spec.weightDecay,
      params: cpuParams,
      excludeFromNorm: spec.excludeFromNorm,
    });
    gpu.push({
      name: spec.name,
      lr: spec.lr,
      weightDecay: spec.weightDecay,
      params: gpuParams,
      excludeFromNorm: spec.excludeFromNorm,
    });
  });
  return { cpu, gpu, tensors };
}

async function runSteps(hyper: AdamWHyperparameters, seed: number, expectClipped: boolean): Promise<void> {
  const ctx = await testGpu();
  const { cpu, gpu, tensors } = build(ctx, seed);
  const initial = cpu.map((g) => g.params.map((p) => p.param.slice()));
  const opt = new AdamW(ctx, gpu, hyper);
  for (let step = 1; step <= 3; step++) {
    // New gradients each step, the same on both sides.
    if (step > 1) {
      for (let gi = 0; gi < cpu.length; gi++) {
        for (let pi = 0; pi < cpu[gi].params.length; pi++) {
          const p = cpu[gi].params[pi];
          p.grad.set(randomArray(p.grad.length, seed + step * 1000 + gi * 10 + pi, 0.5));
          writeTensor(ctx, gpu[gi].params[pi].grad, p.grad);
        }
      }
    }
    const want = adamwStepReference(cpu, hyper, step);
    await runBatch(ctx, `adamw step ${step}`, (batch) => opt.recordStep(batch, step));
    const got = await opt.readGradNorm();
    expectClose(
      [got.gradNorm, got.clipScale],
      [want.gradNorm, want.clipScale],
      NORM_TOL,
      `norm, clip at step ${step}`,
    );
    expect(got.clipScale < 1).toBe(expectClipped);
  }
  for (let gi = 0; gi < cpu.length; gi++) {
    for (let pi = 0; pi < cpu[gi].params.length; pi++) {
      const what = `${SPECS[gi].name}.${pi}`;
      const p = cpu[gi].params[pi];
      const gotParam = await readTensor(ctx, gpu[gi].params[pi].param);
      const gotM = await readTensor(ctx, opt.moments[gi][pi].m);
      const gotV = await readTensor(ctx, opt.moments[gi][pi].v);
      if (SPECS[gi].lr === 0) {
        expect(Array.from(gotParam)).toEqual(Array.from(initial[gi][pi]));
        expect(gotM.every((x) => x === 0) && gotV.every((x) => x === 0)).toBe(true);
      }
      expectClose(gotParam, p.param, PARAM_TOL, `${what} param`);
      expectClose(gotM, p.m, MOMENT_TOL, `${what} m`);
      expectClose(gotV, p.v, MOMENT_TOL, `${what} v`);
    }
  }
  opt.destroy();
  destroyTensors(...tensors);
}

describe('AdamW kernels vs CPU twin', () => {
  it('gives a 5000-element gradient several norm slots', () => {
    expect(gradNormSlots(1)).toBe(1);
    expect(gradNormSlots(5000)).toBe(3);
    expect(gradNormSlots(1e8)).toBe(64);
  });

  it('three steps over four groups, clipping off', async () => {
    await runSteps({ beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 0 }, 1, false);
  });

  it('three steps over four groups, clipping on (global norm ≈ 20 > 1)', async () => {
    await runSteps({ beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 1 }, 2, true);
  });

  it('three steps, a threshold above the norm leaves gradients unscaled', async () => {
    await runSteps({ beta1: 0.8, beta2: 0.999, eps: 1e-6, maxGradNorm: 1000 }, 3, false);
  });

  it('zeroGradients clears every gradient; the norm of zero gradients is 0 and nothing moves', async () => {
    const ctx = await testGpu();
    const { gpu, tensors } = build(ctx, 4);
    const opt = new AdamW(ctx, gpu, { beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 1 });
    const before = await readTensor(ctx, gpu[1].params[1].param);
    await runBatch(ctx, 'zero', (batch) => {
      opt.zeroGradients(batch);
      opt.recordStep(batch, 1);
    });
    for (const g of gpu)
      for (const p of g.params) expect((await readTensor(ctx, p.grad)).every((x) => x === 0)).toBe(true);
    expect(await opt.readGradNorm()).toEqual({ gradNorm: 0, clipScale: 1 });
    // weightDecay 0 and a zero gradient: the 'norms' group stays put.
    expect(Array.from(await readTensor(ctx, gpu[1].params[1].param))).toEqual(Array.from(before));
    opt.destroy();
    destroyTensors(...tensors);
  });

  it('refuses a parameter and gradient of different lengths, and step 0', async () => {
    const ctx = await testGpu();
    const param = createTensor(ctx, [4], 'f32', 'w');
    const grad = createTensor(ctx, [3], 'f32', 'w.grad');
    expect(() => new AdamW(ctx, [{ name: 'g', lr: 1, weightDecay: 0, params: [{ param, grad }] }])).toThrow(
      /param "w" has 4 elements, grad "w.grad" 3/,
    );
    const ok = createTensor(ctx, [4], 'f32', 'w.grad ok');
    const opt = new AdamW(ctx, [{ lr: 1, weightDecay: 0, params: [{ param, grad: ok }] }]);
    await runBatch(ctx, 'errors', (batch) => {
      expect(() => opt.recordStep(batch, 0)).toThrow(/step = 0 must be a whole number ≥ 1/);
    });
    opt.destroy();
    destroyTensors(param, grad, ok);
  });
});
