import { describe, expect, it } from 'vitest';
import { repeatKvBackward, repeatKvForward } from '../../../src/gpu/reference/repeat-kv.ts';
import { expectClose } from '../../harness/compare.ts';
import { dot, numericGradient, random64 } from './finite-difference.ts';

// Float64 twin, h = 1e-5, and the op is linear: FD error is rounding only (~1e-11).
const TOL = { atol: 1e-9, rtol: 1e-9 };

describe('repeatKv twin', () => {
  it('copies key/value head j to query heads j·group … j·group + group − 1 (transformers repeat_kv)', () => {
    // N = 1, kvHeads = 2, D = 2: heads [1, 2] and [3, 4]; heads = 4 (group 2).
    const y = repeatKvForward(Float64Array.from([1, 2, 3, 4]), { N: 1, heads: 4, kvHeads: 2, D: 2 });
    expect(Array.from(y)).toEqual([1, 2, 1, 2, 3, 4, 3, 4]);
  });

  it('is the identity when kvHeads = heads', () => {
    const x = random64(3 * 4 * 5, 3);
    expect(Array.from(repeatKvForward(x, { N: 3, heads: 4, kvHeads: 4, D: 5 }))).toEqual(Array.from(x));
  });

  it('refuses a kvHeads that does not divide heads', () => {
    expect(() => repeatKvForward(new Float64Array(6), { N: 1, heads: 4, kvHeads: 3, D: 2 })).toThrow(
      /must divide heads/,
    );
  });

  for (const shape of [
    { N: 3, heads: 6, kvHeads: 2, D: 4 },
    { N: 2, heads: 4, kvHeads: 1, D: 6 },
  ]) {
    it(`backward matches finite differences (${JSON.stringify(shape)})`, () => {
      const { N, heads, kvHeads, D } = shape;
      const x = random64(N * kvHeads * D, 31);
      const g = random64(N * heads * D, 32);
      const loss = () => dot(g, repeatKvForward(x, shape));
      expectClose(repeatKvBackward(g, shape), numericGradient(loss, x), TOL, 'dx');
    });
  }
});
