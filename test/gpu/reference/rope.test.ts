import { describe, expect, it } from 'vitest';
import {
  type RopeShape,
  ropeAngle,
  ropeBackwardReference,
  ropeForwardReference,
  ropeTable,
} from '../../../src/gpu/reference/rope.ts';
import { expectClose } from '../../harness/compare.ts';
import { randomArray } from '../../harness/random.ts';

function random64(n: number, seed: number): Float64Array {
  return Float64Array.from(randomArray(n, seed));
}

describe('rope CPU twin', () => {
  const shape: RopeShape = { B: 2, T: 5, H: 2, D: 6, offset: 3, base: 100 };
  const n = 2 * 5 * 2 * 6;

  // RoPE is linear, so central differences are exact up to rounding: with h = 1e-4 in
  // float64 the error is ~1e-16/1e-4 ≈ 1e-12; 1e-9 is a safe bound, while a wrong sign or
  // pairing in the backward is off by O(1).
  it('backward matches finite differences of Σ g·rope(x)', () => {
    const x = random64(n, 1);
    const g = random64(n, 2);
    const loss = () => ropeForwardReference(x, shape, Float64Array).reduce((a, y, i) => a + g[i] * y, 0);
    const analytic = ropeBackwardReference(g, shape, Float64Array);
    const numeric = new Float64Array(n);
    const h = 1e-4;
    for (let i = 0; i < n; i++) {
      const x0 = x[i];
      x[i] = x0 + h;
      const plus = loss();
      x[i] = x0 - h;
      const minus = loss();
      x[i] = x0;
      numeric[i] = (plus - minus) / (2 * h);
    }
    expectClose(analytic, numeric, { atol: 1e-9, rtol: 0 }, 'dx');
  });

  it('backward undoes forward (the rotation is orthogonal)', () => {
    const x = random64(n, 3);
    const y = ropeForwardReference(x, shape, Float64Array);
    expect(Math.max(...y.map((v, i) => Math.abs(v - x[i])))).toBeGreaterThan(0.1);
    expectClose(ropeBackwardReference(y, shape, Float64Array), x, { atol: 1e-14, rtol: 0 }, 'x');
  });

  it('pairs channel i with i + D/2 (rotate half) at frequency base^(−2i/D)', () => {
    const D = 4;
    const pos = 7;
    const one = { B: 1, T: 1, H: 1, D, offset: pos, base: 10000 };
    // Unit vector on channel 0: rotated by angle pos into channel 2.
    const y0 = ropeForwardReference([1, 0, 0, 0], one, Float64Array);
    expectClose(y0, [Math.cos(pos), 0, Math.sin(pos), 0], { atol: 1e-15, rtol: 0 }, 'channel 0');
    // Channel 1 pairs with channel 3 at frequency 10000^(−1/2) = 0.01.
    const y1 = ropeForwardReference([0, 1, 0, 0], one, Float64Array);
    expectClose(
      y1,
      [0, Math.cos(0.01 * pos), 0, Math.sin(0.01 * pos)],
      { atol: 1e-15, rtol: 0 },
      'channel 1',
    );
    // Channel 2 (second half) turns the other way into channel 0.
    const y2 = ropeForwardReference([0, 0, 1, 0], one, Float64Array);
    expectClose(y2, [-Math.sin(pos), 0, Math.cos(pos), 0], { atol: 1e-15, rtol: 0 }, 'channel 2');
  });

  it('position 0 is the identity and heads and batches rotate alike', () => {
    const s: RopeShape = { B: 2, T: 3, H: 2, D: 4 };
    const x = random64(2 * 3 * 8, 4);
    const y = ropeForwardReference(x, s, Float64Array);
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 8; c++) expect(y[b * 24 + c]).toBe(x[b * 24 + c]); // t = 0
    }
    // The same vector in every (b, h) slot at a given t rotates to the same result.
    const same = new Float64Array(48);
    for (let i = 0; i < 48; i++) same[i] = [0.3, -0.2, 0.5, 0.9][i % 4];
    const r = ropeForwardReference(same, s, Float64Array);
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 3; t++) {
        for (let h = 0; h < 2; h++) {
          for (let d = 0; d < 4; d++) expect(r[(b * 3 + t) * 8 + h * 4 + d]).toBeCloseTo(r[t * 8 + d], 14);
        }
      }
    }
  });

  it('scores depend only on the distance between positions', () => {
    const D = 8;
    const q = random64(D, 5);
    const k = random64(D, 6);
    const score = (tq: number, tk: number) => {
      const rq = ropeForwardReference(q, { B: 1, T: 1, H: 1, D, offset: tq }, Float64Array);
      const rk = ropeForwardReference(k, { B: 1, T: 1, H: 1, D, offset: tk }, Float64Array);
      return rq.reduce((a, v, i) => a + v * rk[i], 0);
    };
    expect(score(10, 4)).toBeCloseTo(score(106, 100), 10);
    expect(score(3, 3)).toBeCloseTo(score(0, 0), 12);
    expect(Math.abs(score(10, 4) - score(10, 5))).toBeGreaterThan(1e-3);
  });

  it('table holds float32 cos/sin of each angle', () => {
    const table = ropeTable(50, 6, 500);
    expect(table.length).toBe(50 * 3 * 2);
    for (const [pos, i] of [
      [0, 0],
      [49, 0],
      [17, 2],
    ]) {
      const a = ropeAngle(pos, i, 6, 500);
      expect(table[(pos * 3 + i) * 2]).toBe(Math.fround(Math.cos(a)));
      expect(table[(pos * 3 + i) * 2 + 1]).toBe(Math.fround(Math.sin(a)));
    }
  });

  it('rejects odd head dimensions', () => {
    expect(() => ropeForwardReference(new Float32Array(6), { B: 1, T: 2, H: 1, D: 3 })).toThrow(/even/);
  });
});
