import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import {
  crossEntropyFast,
  rmsnormBackwardFast,
  rmsnormForwardFast,
  ropeFast,
  swigluBackwardFast,
  swigluForwardFast,
} from '../../../src/gpu/cpu/elementwise.ts';
import { crossEntropyBackward, crossEntropyForward } from '../../../src/gpu/reference/cross-entropy.ts';
import { rmsnormBackward, rmsnormForward } from '../../../src/gpu/reference/rmsnorm.ts';
import { ropeBackwardReference, ropeForwardReference } from '../../../src/gpu/reference/rope.ts';
import { sigmoid, swigluBackward, swigluForward } from '../../../src/gpu/reference/swiglu.ts';

// The fast elementwise ops against their twins. Same formulas, float64 arithmetic, one float32
// rounding at the end in both, except where noted, so results agree to a few float32 ulps:
// |fast − ref| ≤ 4·2⁻²⁴·|ref| + 1e-30 (cross-entropy's gradient stores exp(l − max) in float32
// before scaling: two roundings instead of one). SwiGLU takes exp(−a) from the float32 SIMD exp,
// off by (3 + 2|a|)·2⁻²⁴ relative (exp.test.ts); see its test for what that gives.

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
  // σ = 1/(1 + e) with e = exp(−a) off by δ = (3 + 2|a|)·2⁻²⁴ relative: σ and silu are off by ≤ δ
  // relative (plus a few roundings). da's bracket 1 + a(1 − σ) can cancel (at a ≈ −1.28), so its
  // bound is on the terms: |g·b·σ|·(1 + |a(1 − σ)|)·2δ.
  it('forward and backward over a wide range of a (both signs of σ), odd length past one chunk', () => {
    const n = 4096 + 1001;
    const a = random(n, 1, 30);
    const b = random(n, 2);
    const dout = random(n, 3);
    const out = new Float32Array(n);
    swigluForwardFast(a, b, out);
    const ref = swigluForward(a, b);
    const da = new Float32Array(n);
    const db = new Float32Array(n);
    swigluBackwardFast(a, b, dout, da, db);
    const g = swigluBackward(a, b, dout);
    for (let i = 0; i < n; i++) {
      const delta = (6 + 2 * Math.abs(a[i])) * U;
      const s = sigmoid(a[i]);
      expect(Math.abs(out[i] - ref[i])).toBeLessThanOrEqual(delta * Math.abs(ref[i]) + 1e-37);
      expect(Math.abs(db[i] - g.db[i])).toBeLessThanOrEqual(delta * Math.abs(g.db[i]) + 1e-37);
      const terms = Math.abs(dout[i] * b[i] * s) * (1 + Math.abs(a[i] * (1 - s)));
      expect(Math.abs(da[i] - g.da[i])).toBeLessThanOrEqual(2 * delta * terms + 1e-37);
    }
  });
});

describe('rmsnorm (fast)', () => {
  // Same float64 sums in the same order as the twin: equal to the last ulp or two.
  for (const [N, C] of [
    [1, 1],
    [3, 7],
    [33, 64],
  ]) {
    it(`forward and backward, N = ${N}, C = ${C}, with and without accumulation`, () => {
      const x = random(N * C, N, 3);
      const w = random(C, C);
      const dy = random(N * C, N + C);
      const y = new Float32Array(N * C);
      const rstd = new Float32Array(N);
      rmsnormForwardFast(x, w, y, rstd, N, C, 1e-6);
      const ref = rmsnormForward(x, w, N, C, 1e-6);
      expectUlps(y, ref.y, 2);
      expectUlps(rstd, ref.rstd, 2);
      for (const accumulate of [false, true]) {
        const dx0 = random(N * C, 7);
        const dw0 = random(C, 8);
        const dx = accumulate ? Float32Array.from(dx0) : new Float32Array(N * C).fill(Number.NaN);
        const dw = Float32Array.from(dw0);
        rmsnormBackwardFast(x, w, rstd, dy, dx, dw, N, C, accumulate);
        const g = rmsnormBackward(x, w, rstd, dy, N, C, {
          dx: accumulate ? Float32Array.from(dx0) : new Float32Array(N * C),
          dw: Float32Array.from(dw0),
        });
        expectUlps(dx, g.dx, 2);
        expectUlps(dw, g.dw, 2);
      }
      rmsnormBackwardFast(x, w, rstd, dy, new Float32Array(N * C), null, N, C, false);
    });
  }
});
