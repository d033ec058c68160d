import { describe, expect, it } from 'vitest';
import { sigmoidInto, sigmoidSimdAvailable } from '../../../src/gpu/cpu/sigmoid-simd.ts';
import { rng } from '../../harness/random.ts';

// The kernel must give exactly the doubles of 1 / (1 + Math.exp(−(temp·x))): the ROSA backward's
// twin computes its σ's that way and the fast backward is compared with it bit for bit.

function expected(x: Float32Array, temp: number): Float64Array {
  return Float64Array.from(x, (v) => 1 / (1 + Math.exp(-(temp * v))));
}

function expectSameBits(got: Float64Array, want: Float64Array): void {
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`[${i}] = ${got[i]}, Math.exp gives ${want[i]}`);
  }
}

/** Random float32 values over many magnitudes (2⁻³⁰ … 2⁹), both signs. */
function wideSample(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * 2 ** (r() * 39 - 30));
}

/** Edges of fdlibm's branches (|x| = ½ln2, 1.5 ln2, 2⁻²⁸, the exp(1) case) and of the kernel's range. */
const edges = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  0.34657359,
  0.3465736,
  -0.3465736,
  1.0397208,
  1.0397209,
  -1.0397208,
  2 ** -28,
  -(2 ** -28),
  2 ** -29,
  3.7252903e-9,
  699.9,
  -699.9,
  700,
  -700,
  745.2,
  -745.2,
  1e-45,
  -1e-45,
];

describe('sigmoidInto', () => {
  it('runs in wasm SIMD on this engine (else the other cases test only the scalar loop)', () => {
    expect(sigmoidSimdAvailable()).toBe(true);
  });

  it.each([1, 0.7, 2.5, -1.3])('equals Math.exp bit for bit over a wide sample, temp %s', (temp) => {
    const x = wideSample(20_001, 7);
    const out = new Float64Array(x.length);
    sigmoidInto(x, temp, out);
    expectSameBits(out, expected(x, temp));
  });

  it('equals Math.exp at the branch edges, both temps that map them onto themselves', () => {
    for (const temp of [1, -1]) {
      const x = Float32Array.from(edges);
      const out = new Float64Array(x.length);
      sigmoidInto(x, temp, out);
      expectSameBits(out, expected(x, temp));
    }
  });

  it('falls back to Math.exp for an array holding NaN, ±Infinity or |temp·x| ≥ 700', () => {
    for (const odd of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 800, -1e30]) {
      const x = wideSample(64, 3);
      x[17] = odd;
      const out = new Float64Array(x.length);
      sigmoidInto(x, 1, out);
      expectSameBits(out, expected(x, 1));
    }
  });

  it('writes only the first n elements; an odd count and a single element work', () => {
    const x = wideSample(9, 5);
    for (const n of [7, 1, 0]) {
      const out = new Float64Array(9).fill(-5);
      sigmoidInto(x, 1, out, n);
      expectSameBits(out.subarray(0, n), expected(x.subarray(0, n), 1));
      expect([...out.subarray(n)]).toEqual(new Array(9 - n).fill(-5));
    }
  });

  it('names a short output', () => {
    expect(() => sigmoidInto(new Float32Array(4), 1, new Float64Array(3))).toThrow(
      'sigmoidInto: 4 elements asked of arrays of 4 and 3',
    );
  });
});
