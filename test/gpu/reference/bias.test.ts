import { describe, expect, it } from 'vitest';
import { biasBackward, biasForward } from '../../../src/gpu/reference/bias.ts';
import { expectClose } from '../../harness/compare.ts';
import { dot, numericGradient, random64 } from './finite-difference.ts';

// Float64 twin, h = 1e-5, and the op is linear in b: FD error is rounding only (~1e-11).
const TOL = { atol: 1e-9, rtol: 1e-9 };

describe('bias twin', () => {
  it('adds b to every row in place', () => {
    const y = Float64Array.from([1, 2, 3, 4, 5, 6]);
    biasForward(y, [10, 20, 30], 2, 3);
    expect(Array.from(y)).toEqual([11, 22, 33, 14, 25, 36]);
  });

  it('db accumulates the column sums, and matches finite differences', () => {
    const N = 5;
    const C = 7;
    const y0 = random64(N * C, 41);
    const b = random64(C, 42);
    const g = random64(N * C, 43);
    const loss = () => {
      const y = Float64Array.from(y0);
      biasForward(y, b, N, C);
      return dot(g, y);
    };
    const db = new Float64Array(C).fill(0.5);
    biasBackward(g, db, N, C);
    const want = numericGradient(loss, b).map((v) => v + 0.5);
    expectClose(db, want, TOL, 'db');
  });
});
