import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import {
  crossEntropyFast,
  ropeFast,
  swigluBackwardFast,
  swigluForwardFast,
} from '../../../src/gpu/cpu/elementwise.ts';
import { crossEntropyBackward, crossEntropyForward } from '../../../src/gpu/reference/cross-entropy.ts';
import { ropeBackwardReference, ropeForwardReference } from '../../../src/gpu/reference/rope.ts';
import { swigluBackward, swigluForward } from '../../../src/gpu/reference/swiglu.ts';

// The fast elementwise ops against their twins. Same formulas, float64 arithmetic, one float32
// rounding at the end in both, except where noted, so results agree to a few float32 ulps:
// |fast − ref| ≤ 4·2⁻²⁴·|ref| + 1e-30 (cross-entropy's gradient stores exp(l − max) in float32
// before scaling: two roundings instead of one).

const U = 2 ** -24;

function random(n: number, seed: number, spread = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * spread);
}

function expectUlps(fast: ArrayLike<number>, ref: ArrayLike<number>, ulps = 4): void {
  expect(fast.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const tol = ulps * U * Math.abs(ref[i]) + 1e-30;
    if (!(Math.abs(fast[i] - ref[i]) <= tol)) expect.fail(`element ${i}: ${fast[i]} vs ${ref[i]}`);
  }
}

describe('crossEntropyFast', () => {
  for (const [N, V] of [
    [1, 1],
    [3, 2],
    [7, 97],
    [33, 13],
  ]) {
    it(`N = ${N}, V = ${V}, with ignored rows`, () => {
      const logits = random(N * V, N + V, 8);
      const r = rng(N * V);
      const labels = Int32Array.from({ length: N }, (_, n) => (n % 3 === 1 ? -1 : Math.floor(r() * V)));
      const ref = crossEntropyForward(logits, labels, N, V);
      const dref = crossEntropyBackward(logits, labels, N, V);
      const dlogits = new Float32Array(N * V).fill(Number.NaN);
      const s = crossEntropyFast(logits, labels, dlogits, N, V);
      expect(s.count).toBe(ref.count);
      expect(s.correctCount).toBe(ref.correctCount);
      expect(s.accuracy).toBe(ref.accuracy);
      expect(Math.abs(s.meanLoss - ref.meanLoss)).toBeLessThanOrEqual(1e-12 * Math.max(1, ref.meanLoss));
      expectUlps(dlogits, dref);
      expect(crossEntropyFast(logits, labels, null, N, V).meanLoss).toBe(s.meanLoss);
    });
  }
  it('rejects a label ≥ V', () => {
    expect(() => crossEntropyFast(new Float32Array(4), Int32Array.from([0, 2]), null, 2, 2)).toThrow(
      RangeError,
    );
  });
});

describe('ropeFast', () => {
  for (const shape of [
    { B: 1, T: 1, H: 1, D: 2 },
    { B: 2, T: 7, H: 3, D: 6 },
    { B: 1, T: 300, H: 2, D: 32, base: 500 },
  ]) {
    it(`forward and inverse, ${JSON.stringify(shape)}`, () => {
      const n = shape.B * shape.T * shape.H * shape.D;
      const x = random(n, n);
      const y = new Float32Array(n);
      ropeFast(x, y, shape, 1);
      expectUlps(y, ropeForwardReference(x, shape));
      ropeFast(x, y, shape, -1);
      expectUlps(y, ropeBackwardReference(x, shape));
    });
  }
});

describe('swiglu (fast)', () => {
  it('forward and backward over a wide range of a (both signs of σ)', () => {
    const n = 1001;
    const a = random(n, 1, 30);
    const b = random(n, 2);
    const dout = random(n, 3);
    const out = new Float32Array(n);
    swigluForwardFast(a, b, out);
    expectUlps(out, swigluForward(a, b));
    const da = new Float32Array(n);
    const db = new Float32Array(n);
    swigluBackwardFast(a, b, dout, da, db);
    const ref = swigluBackward(a, b, dout);
    expectUlps(da, ref.da);
    expectUlps(db, ref.db);
  });
});
