import { describe, expect, it } from 'vitest';
import {
  type AdamWHyperparameters,
  adamwStepReference,
  type CpuParamGroup,
  clipScaleFor,
  globalGradNorm,
} from '../../../src/gpu/reference/adamw.ts';
import { cpuAdamWParam } from '../../harness/adamw.ts';
import { expectClose } from '../../harness/compare.ts';

const NO_CLIP: AdamWHyperparameters = { beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 0 };

function group(lr: number, weightDecay: number, params: number[][], grads: number[][]): CpuParamGroup {
  return {
    lr,
    weightDecay,
    params: params.map((p, i) => cpuAdamWParam(Float32Array.from(p), Float32Array.from(grads[i]))),
  };
}

// Parameters are stored as f32: 1e-7 absolute is a few ulps at these magnitudes.
const F32 = { atol: 1e-7, rtol: 1e-6 };

describe('AdamW twin', () => {
  it('two steps match a hand computation', () => {
    // p = 1, lr = 0.1, wd = 0.1, β = (0.9, 0.999), ε = 1e-8; gradients 0.5 then −0.25.
    // Step 1: m = 0.05, v = 0.00025, m̂ = 0.05/0.1 = 0.5, v̂ = 0.00025/0.001 = 0.25,
    //         m̂/(√v̂+ε) = 0.5/0.50000001 = 0.99999998, p = 1 − 0.1·(0.99999998 + 0.1·1) = 0.890000002.
    // Step 2: m = 0.045 − 0.025 = 0.02, v = 0.999·0.00025 + 0.001·0.0625 = 0.00031225,
    //         m̂ = 0.02/0.19 = 0.1052632, v̂ = 0.00031225/0.001999 = 0.1562031, √v̂ = 0.3952254,
    //         m̂/√v̂ = 0.2663370, p = 0.890000002 − 0.1·(0.2663370 + 0.1·0.890000002) = 0.8544663.
    const g = group(0.1, 0.1, [[1]], [[0.5]]);
    const p = g.params[0];
    adamwStepReference([g], NO_CLIP, 1);
    expect(p.m[0]).toBeCloseTo(0.05, 7);
    expect(p.v[0]).toBeCloseTo(0.00025, 9);
    expect(p.param[0]).toBeCloseTo(0.890000002, 6);
    p.grad[0] = -0.25;
    adamwStepReference([g], NO_CLIP, 2);
    expect(p.m[0]).toBeCloseTo(0.02, 7);
    expect(p.v[0]).toBeCloseTo(0.00031225, 9);
    expect(p.param[0]).toBeCloseTo(0.8544663, 6);
  });

  it('a group with lr 0 keeps its parameters and moments; others move', () => {
    const frozen = group(0, 0.1, [[1, -2, 3]], [[0.3, 0.1, -0.2]]);
    const live = group(0.01, 0.1, [[1, -2, 3]], [[0.3, 0.1, -0.2]]);
    for (let t = 1; t <= 3; t++) adamwStepReference([frozen, live], NO_CLIP, t);
    expect(Array.from(frozen.params[0].param)).toEqual([1, -2, 3]);
    expect(Array.from(frozen.params[0].m)).toEqual([0, 0, 0]);
    expect(Array.from(frozen.params[0].v)).toEqual([0, 0, 0]);
    expect(Array.from(live.params[0].param)).not.toEqual([1, -2, 3]);
  });

  it('weight decay is decoupled: it shrinks p by lr·wd·p and never enters the moments', () => {
    // With zero gradients the Adam term is 0, so p ← p·(1 − lr·wd) exactly.
    const still = group(0.1, 0.5, [[2, -4]], [[0, 0]]);
    adamwStepReference([still], NO_CLIP, 1);
    expectClose(still.params[0].param, [2 * 0.95, -4 * 0.95], F32, 'pure decay');
    // With gradients, the moments are the same with and without decay, and the parameters
    // differ by exactly lr·wd·p_old (L2-in-the-gradient Adam would change m and v too).
    const withWd = group(0.1, 0.5, [[2, -4]], [[0.3, 0.7]]);
    const without = group(0.1, 0, [[2, -4]], [[0.3, 0.7]]);
    adamwStepReference([withWd], NO_CLIP, 1);
    adamwStepReference([without], NO_CLIP, 1);
    expect(Array.from(withWd.params[0].m)).toEqual(Array.from(without.params[0].m));
    expect(Array.from(withWd.params[0].v)).toEqual(Array.from(without.params[0].v));
    const diff = Array.from(without.params[0].param, (p, i) => p - withWd.params[0].param[i]);
    expectClose(diff, [0.1 * 0.5 * 2, 0.1 * 0.5 * -4], F32, 'decay difference');
  });

  it('clipping kicks in exactly when the global norm exceeds the maximum', () => {
    // Two groups, gradients [0.75] and [1] (exact in f32): global norm 1.25.
    const make = () => [group(0.1, 0, [[0]], [[0.75]]), group(0.1, 0, [[0]], [[1]])];
    expect(globalGradNorm(make())).toBeCloseTo(1.25, 14);
    const below = make();
    const r1 = adamwStepReference(below, { ...NO_CLIP, maxGradNorm: 1.251 }, 1);
    expect(r1.gradNorm).toBe(1.25);
    expect(r1.clipScale).toBe(1);
    expectClose([below[0].params[0].m[0], below[1].params[0].m[0]], [0.075, 0.1], F32, 'unclipped m');
    const above = make();
    const r2 = adamwStepReference(above, { ...NO_CLIP, maxGradNorm: 1.249 }, 1);
    expect(r2.clipScale).toBeLessThan(1);
    expect(r2.clipScale).toBeCloseTo(1.249 / (1.25 + 1e-6), 12);
    // m = (1 − β1)·g·scale: the clipped gradient has norm ≈ maxGradNorm.
    const clipped = [above[0].params[0].m[0] / 0.1, above[1].params[0].m[0] / 0.1];
    expect(Math.hypot(clipped[0], clipped[1])).toBeCloseTo(1.249, 5);
    expect(clipped[1] / clipped[0]).toBeCloseTo(1 / 0.75, 5);
    // Off when maxGradNorm ≤ 0 or infinite.
    expect(clipScaleFor(50, 0)).toBe(1);
    expect(clipScaleFor(50, Number.POSITIVE_INFINITY)).toBe(1);
  });

  it('a group excluded from the norm is neither counted nor clipped', () => {
    const counted = group(0.1, 0, [[0]], [[3]]);
    const excluded = { ...group(0.1, 0, [[0]], [[4]]), excludeFromNorm: true };
    const r = adamwStepReference([counted, excluded], { ...NO_CLIP, maxGradNorm: 1 }, 1);
    expect(r.gradNorm).toBeCloseTo(3, 6);
    expect(counted.params[0].m[0]).toBeCloseTo(0.1 * 3 * r.clipScale, 6);
    expect(excluded.params[0].m[0]).toBeCloseTo(0.4, 6);
  });

  it('rejects a step count below 1 and mismatched lengths', () => {
    expect(() => adamwStepReference([group(0.1, 0, [[1]], [[1]])], NO_CLIP, 0)).toThrow(/step/);
    const bad = group(0.1, 0, [[1, 2]], [[1]]);
    expect(() => adamwStepReference([bad], NO_CLIP, 1)).toThrow(/lengths differ/);
  });
});
