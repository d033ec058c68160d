import { describe, expect, it } from 'vitest';
import {
  checkLabels,
  crossEntropyBackward,
  crossEntropyForward,
} from '../../../src/gpu/reference/cross-entropy.ts';
import { expectClose } from '../../harness/compare.ts';
import { numericGradient, random64 } from './finite-difference.ts';

// Float64 twin, h = 1e-5: FD noise ~1e-10 against gradients of order 1/count; 1e-8 catches
// a missing 1/count, a wrong sign or a leak into ignored rows.
const TOL = { atol: 1e-8, rtol: 1e-6 };

describe('cross-entropy twin', () => {
  it('per-row loss is −log softmax at the label; ignored rows are 0 and not counted', () => {
    const N = 4;
    const V = 3;
    const logits = Float64Array.from([1, 2, 3, 0, 0, 0, 5, -1, 2, 7, 7, 1]);
    const labels = [2, -1, 0, -7];
    const r = crossEntropyForward(logits, labels, N, V);
    const want0 = -Math.log(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
    const want2 = -Math.log(Math.exp(5) / (Math.exp(5) + Math.exp(-1) + Math.exp(2)));
    expect(r.losses[0]).toBeCloseTo(want0, 12);
    expect(r.losses[1]).toBe(0);
    expect(r.losses[2]).toBeCloseTo(want2, 12);
    expect(r.losses[3]).toBe(0);
    expect(r.count).toBe(2);
    expect(r.meanLoss).toBeCloseTo((want0 + want2) / 2, 12);
    expect(Array.from(r.correct)).toEqual([1, 0, 1, 0]);
    expect(r.accuracy).toBe(1);
  });

  it('is stable for huge logits', () => {
    const r = crossEntropyForward(Float32Array.from([1000, 0, -1000]), [1], 1, 3);
    expect(r.losses[0]).toBeCloseTo(1000, 6);
    const d = crossEntropyBackward(Float32Array.from([1000, 0, -1000]), [1], 1, 3);
    expect(Array.from(d)).toEqual([1, -1, 0]);
  });

  it('argmax ties go to the lowest index', () => {
    const logits = Float64Array.from([4, 4, 1, 2, 9, 9]);
    const r = crossEntropyForward(logits, [1, 1], 2, 3);
    expect(Array.from(r.correct)).toEqual([0, 1]);
    expect(r.correctCount).toBe(1);
    expect(r.accuracy).toBe(0.5);
  });

  it('all rows ignored: zero loss, zero gradient, no division by zero', () => {
    const logits = random64(6, 3);
    const r = crossEntropyForward(logits, [-1, -1], 2, 3);
    expect(r.meanLoss).toBe(0);
    expect(r.count).toBe(0);
    expect(Array.from(crossEntropyBackward(logits, [-1, -1], 2, 3))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('rejects labels ≥ V, naming the row', () => {
    expect(() => checkLabels([0, -1, 3], 3)).toThrow(/labels\[2\] = 3 .*\[0, 3\)/);
    expect(() => crossEntropyForward(new Float32Array(6), [0, 5], 2, 3)).toThrow(/labels\[1\] = 5/);
  });

  it('gradient of scale · mean loss matches finite differences, with ignored rows', () => {
    const N = 7;
    const V = 5;
    const logits = random64(N * V, 31, 3);
    const labels = [4, -1, 0, 2, -1, 2, 1];
    const scale = 0.75;
    const analytic = crossEntropyBackward(logits, labels, N, V, scale);
    const numeric = numericGradient(() => scale * crossEntropyForward(logits, labels, N, V).meanLoss, logits);
    expectClose(analytic, numeric, TOL, 'dlogits');
    for (const row of [1, 4]) for (let j = 0; j < V; j++) expect(analytic[row * V + j]).toBe(0);
  });
});
