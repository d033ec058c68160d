import { describe, expect, it } from 'vitest';
import { matmulReference } from '../../../src/gpu/reference/matmul.ts';
import { matmulF16Reference, roundToF16 } from '../../../src/gpu/reference/matmul-f16.ts';

// The twin of shaders/matmul-f16.wgsl rounds its inputs as IEEE binary16 does.
describe('f16 rounding (twin of the f16 matmul tiles)', () => {
  it('keeps f16 values, rounds to nearest with ties to even, and overflows past 65504', () => {
    expect(roundToF16(1)).toBe(1);
    expect(roundToF16(-2.5)).toBe(-2.5);
    expect(roundToF16(1 + 2 ** -11)).toBe(1); // a tie: 1 is even
    expect(roundToF16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // a tie: up to the even neighbour
    expect(roundToF16(1 + 2 ** -11 + 2 ** -20)).toBe(1 + 2 ** -10);
    expect(roundToF16(0.1)).toBe(0.0999755859375);
    expect(roundToF16(-0.1)).toBe(-0.0999755859375);
    expect(roundToF16(65504)).toBe(65504);
    expect(roundToF16(65519)).toBe(65504);
    expect(roundToF16(65520)).toBe(Number.POSITIVE_INFINITY);
    expect(roundToF16(-1e6)).toBe(Number.NEGATIVE_INFINITY);
    expect(roundToF16(2 ** -14)).toBe(2 ** -14); // smallest normal
    expect(roundToF16(2 ** -24)).toBe(2 ** -24); // smallest subnormal
    expect(roundToF16(2 ** -25)).toBe(0); // a tie between 0 and 2⁻²⁴: 0 is even
    expect(roundToF16(3 * 2 ** -26)).toBe(2 ** -24);
    expect(roundToF16(5 * 2 ** -24 + 2 ** -26)).toBe(5 * 2 ** -24);
    expect(roundToF16(0)).toBe(0);
  });

  it('every value it returns is a fixed point (an f16 value), for a sweep of magnitudes', () => {
    for (let e = -26; e <= 16; e++)
      for (const f of [1, 1.1, 1.37, 1.5, 1.999]) {
        const once = roundToF16(f * 2 ** e);
        expect(roundToF16(once), `${f}·2^${e}`).toBe(once);
        if (Number.isFinite(once) && f * 2 ** e >= 2 ** -14) {
          expect(Math.abs(once - f * 2 ** e) / (f * 2 ** e)).toBeLessThanOrEqual(2 ** -11);
        }
      }
  });

  it('the f16 matmul twin is the f32 product of the rounded inputs', () => {
    const a = Float32Array.from([0.1, 0.2, 0.3, 1 / 3, 2, 1e-5]); // 2×3
    const b = Float32Array.from([1 / 7, 3, -1, 0.5, 10, 1 / 9]); // 3×2
    const shape = { M: 2, N: 2, K: 3 };
    const got = matmulF16Reference(a, b, shape);
    const exact = matmulReference(a, b, shape);
    const rounded = matmulReference(a.map(roundToF16), b.map(roundToF16), shape);
    expect([...got]).toEqual([...rounded]);
    expect([...got]).not.toEqual([...exact]);
    for (let i = 0; i < 4; i++) expect(Math.abs(got[i] - exact[i])).toBeLessThan(0.01);
  });
});
