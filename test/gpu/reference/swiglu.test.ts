import { describe, expect, it } from 'vitest';
import { sigmoid, swigluBackward, swigluForward } from '../../../src/gpu/reference/swiglu.ts';
import { expectClose } from '../../harness/compare.ts';
import { dot, numericGradient, random64 } from './finite-difference.ts';

// Float64 twin, h = 1e-5: FD noise ~1e-10; 1e-7 catches any wrong derivative term.
const TOL = { atol: 1e-7, rtol: 1e-7 };

describe('swiglu twin', () => {
  it('sigmoid is finite and symmetric far out in both directions', () => {
    for (const a of [0, 1, 30, 100, 800]) {
      expect(sigmoid(a) + sigmoid(-a)).toBeCloseTo(1, 14);
      expect(Number.isFinite(sigmoid(-a))).toBe(true);
    }
    expect(sigmoid(-800)).toBe(0);
  });

  it('computes silu(a) · b', () => {
    const out = swigluForward(Float64Array.from([0, 2, -3]), [5, 0.5, 2]);
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo((2 / (1 + Math.exp(-2))) * 0.5, 14);
    expect(out[2]).toBeCloseTo((-3 / (1 + Math.exp(3))) * 2, 14);
  });

  it('da and db match finite differences, including large |a|', () => {
    const n = 40;
    const a = random64(n, 21, 4);
    a[0] = 12;
    a[1] = -12;
    a[2] = 0;
    const b = random64(n, 22, 2);
    const g = random64(n, 23);
    const { da, db } = swigluBackward(a, b, g);
    const loss = () => dot(g, swigluForward(a, b));
    expectClose(da, numericGradient(loss, a), TOL, 'da');
    expectClose(db, numericGradient(loss, b), TOL, 'db');
  });
});
