import { describe, expect, it } from 'vitest';
import { expShifted, simdScratch } from '../../../src/gpu/cpu/matmul.ts';
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
