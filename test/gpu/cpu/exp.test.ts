import { describe, expect, it } from 'vitest';
import { expShifted, rowMax, simdScratch } from '../../../src/gpu/cpu/matmul.ts';
import { sleb, uleb } from '../../../src/wasm/writer.ts';

// expShifted runs Cephes' expf in wasm SIMD on the scratch memory (float32 lanes; about 2 ulp
// over the float32 range where exp is normal) and Math.exp on the tail and elsewhere. The SIMD
// path forms the argument a = x·scale − shift in float32, off by up to 2·|a|·2⁻²⁴, which exp
// turns into a relative error of the same size. So per element ≤ (3 + 2|a|)·2⁻²⁴ relative to
// Math.exp in float64, the sum to (n + 3 + 2·max|a|)·2⁻²⁴ relative. (In a softmax the weights
// with a large |a| are small: e^−|a|·|a| ≤ 1/e.)

const U = 2 ** -24;

describe('expShifted', () => {
  it('matches Math.exp within 3 ulp, SIMD body and scalar tail, any offset', () => {
    for (const [off, n] of [
      [0, 1],
      [1, 3],
      [3, 4],
      [5, 1031],
    ]) {
      const buf = simdScratch(off + n);
      const x = Float32Array.from({ length: n }, (_, i) => -40 + ((i * 97.3) % 80));
      buf.set(x, off);
      const scale = 0.7;
      const shift = 1.25;
      const sum = expShifted(buf, off, n, scale, shift);
      let ref = 0;
      let maxA = 0;
      for (let i = 0; i < n; i++) {
        const a = x[i] * scale - shift;
        const e = Math.exp(a);
        ref += e;
        maxA = Math.max(maxA, Math.abs(a));
        expect(Math.abs(buf[off + i] - e)).toBeLessThanOrEqual((3 + 2 * Math.abs(a)) * U * e);
      }
      expect(Math.abs(sum - ref)).toBeLessThanOrEqual((n + 3 + 2 * maxA) * U * ref);
    }
  });
  it('matches Math.exp over the whole normal range, arguments near the rounding of a·log₂e', () => {
    // The exponent n = round(a·log₂e) is taken by adding 1.5·2²³; points on both sides of every
    // half-integer a·log₂e = n + ½ check that the reduction and 2ⁿ agree there.
    const xs: number[] = [];
    for (let n = -125; n <= 126; n++) for (const d of [-1e-3, 0, 1e-3]) xs.push((n + 0.5 + d) * Math.LN2);
    for (let i = 0; i < 4000; i++) xs.push(-87 + (175 * i) / 4000);
    const n = xs.length - (xs.length % 4); // the SIMD body only
    const buf = simdScratch(n);
    buf.set(xs.slice(0, n));
    const x = buf.slice(0, n);
    expShifted(buf, 0, n, 1, 0);
    for (let i = 0; i < n; i++) {
      const e = Math.exp(x[i]);
      expect(Math.abs(buf[i] - e), `exp(${x[i]})`).toBeLessThanOrEqual((3 + 2 * Math.abs(x[i])) * U * e);
    }
  });
  it('keeps NaN arguments NaN (and the sum), in SIMD and in the tail', () => {
    const buf = simdScratch(6);
    buf.set([0, Number.NaN, 1, 2, 3, Number.NaN]);
    const sum = expShifted(buf, 0, 6, 1, 0);
    expect(buf[1]).toBeNaN();
    expect(buf[5]).toBeNaN();
    expect(buf[2]).toBeCloseTo(Math.E, 5);
    expect(sum).toBeNaN();
  });
  it('treats arguments far below the float32 range as (almost) 0, without NaN', () => {
    const buf = simdScratch(8);
    buf.set([-1e30, -200, -120, -88, 0, 1, 2, 3]);
    const sum = expShifted(buf, 0, 8, 1, 0);
    for (let i = 0; i < 4; i++) expect(buf[i]).toBeLessThan(2e-38);
    expect(sum).toBeCloseTo(1 + Math.E + Math.E ** 2 + Math.E ** 3, 4);
  });
});

describe('wasm writer LEB128', () => {
  it('encodes unsigned and signed integers', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([127]);
    expect(uleb(128)).toEqual([0x80, 1]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([63]);
    expect(sleb(64)).toEqual([0xc0, 0]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });
});

describe('rowMax', () => {
  it('finds the maximum in SIMD and in the tail, negative rows and any offset', () => {
    const buf = simdScratch(40);
    for (const [off, n, at] of [
      [0, 1, 0],
      [1, 7, 6],
      [3, 16, 0],
      [2, 33, 17],
      [5, 35, 34],
    ]) {
      for (let i = 0; i < n; i++) buf[off + i] = -100 - i;
      buf[off + at] = -3.5;
      expect(rowMax(buf, off, n)).toBe(-3.5);
    }
  });
});
