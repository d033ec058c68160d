import { describe, expect, it } from 'vitest';
import {
  buildTokenPositionLists,
  checkTokenIds,
  embeddingBackward,
  embeddingForward,
} from '../../../src/gpu/reference/embedding.ts';
import { expectClose } from '../../harness/compare.ts';
import { dot, numericGradient, random64 } from './finite-difference.ts';

// The lookup is linear in the table, so the float64 finite difference is exact up to
// rounding (~1e-11); 1e-8 leaves room without hiding a missing or doubled contribution.
const TOL = { atol: 1e-8, rtol: 1e-8 };

describe('embedding twin', () => {
  it('looks rows up', () => {
    const table = Float32Array.from([0, 1, 10, 11, 20, 21]);
    const out = embeddingForward(Int32Array.from([2, 0, 2]), table, 3, 2, 3);
    expect(Array.from(out)).toEqual([20, 21, 0, 1, 20, 21]);
    expect(out).toBeInstanceOf(Float32Array);
  });

  it('rejects token ids outside [0, V) with the position and the id', () => {
    expect(() => checkTokenIds([0, 3, 5], 5)).toThrow(/tokens\[2\] = 5 .*\[0, 5\)/);
    expect(() => embeddingForward(Int32Array.from([1, -1]), new Float32Array(10), 2, 2, 5)).toThrow(
      /tokens\[1\] = -1/,
    );
    expect(() => buildTokenPositionLists([0, 1.5], 4)).toThrow(/tokens\[1\] = 1.5/);
  });

  it('builds CSR lists holding exactly the positions of each id, ascending', () => {
    const tokens = [3, 0, 3, 3, 1, 0, 3];
    const V = 5;
    const { offsets, positions } = buildTokenPositionLists(tokens, V);
    expect(offsets.length).toBe(V + 1);
    expect(offsets[0]).toBe(0);
    expect(offsets[V]).toBe(tokens.length);
    for (let v = 0; v < V; v++) {
      const listed = Array.from(positions.subarray(offsets[v], offsets[v + 1]));
      const want = tokens.flatMap((t, n) => (t === v ? [n] : []));
      expect(listed).toEqual(want);
    }
  });

  it('reuses the arrays it is given', () => {
    const reuse = { offsets: new Int32Array(4), positions: new Int32Array(3) };
    buildTokenPositionLists([2, 2, 0], 3, reuse);
    const again = buildTokenPositionLists([1, 0, 1], 3, reuse);
    expect(again.offsets).toBe(reuse.offsets);
    expect(Array.from(again.offsets)).toEqual([0, 1, 3, 3]);
    expect(Array.from(again.positions)).toEqual([1, 0, 2]);
  });

  it('gradient matches finite differences (repeated ids, unused ids)', () => {
    const N = 9;
    const C = 3;
    const V = 6; // id 4 never appears: its gradient must be 0
    const tokens = Int32Array.from([1, 3, 1, 0, 5, 1, 3, 2, 1]);
    const table = random64(V * C, 1);
    const g = random64(N * C, 2);
    const analytic = embeddingBackward(tokens, g, N, C, V);
    const numeric = numericGradient(() => dot(g, embeddingForward(tokens, table, N, C, V)), table);
    expectClose(analytic, numeric, TOL, 'dTable');
    for (let c = 0; c < C; c++) expect(analytic[4 * C + c]).toBe(0);
  });

  it('accumulates into an existing gradient (the tied head adds its own)', () => {
    const tokens = Int32Array.from([0, 2, 0]);
    const dout = random64(3 * 2, 3);
    const prior = random64(3 * 2, 4);
    const acc = prior.slice();
    embeddingBackward(tokens, dout, 3, 2, 3, acc);
    const fresh = embeddingBackward(tokens, dout, 3, 2, 3);
    const want = prior.map((p, i) => p + fresh[i]);
    expectClose(acc, want, TOL, 'accumulated dTable');
  });
});
