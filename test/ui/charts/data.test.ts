import { describe, expect, it } from 'vitest';
import { downsample, ema, positionBucketLabel, positiveOnly } from '../../../src/ui/charts/data.ts';

describe('chart data', () => {
  it('EMA with weight 0 is the identity and starts at the first value otherwise', () => {
    expect(ema([3, 1, 2], 0)).toEqual([3, 1, 2]);
    const s = ema([10, 0, 0, 0], 0.5);
    expect(s[0]).toBeCloseTo(10);
    // (0.5·10·0.5 + 0.5·0) / (1 − 0.25) = 2.5 / 0.75
    expect(s[1]).toBeCloseTo(5 / 1.5);
    expect(s[3]).toBeLessThan(s[2]);
  });

  it('EMA of a constant is that constant at every point', () => {
    for (const v of ema([2, 2, 2, 2, 2], 0.9)) expect(v).toBeCloseTo(2);
  });

  it('EMA carries over non-finite values', () => {
    const s = ema([1, Number.NaN, 1], 0.5);
    expect(s.every(Number.isFinite)).toBe(true);
  });

  it('downsample keeps short series and bounds long ones, with exact end points', () => {
    const xs = Array.from({ length: 10 }, (_, i) => i);
    expect(downsample(xs, xs, 20)).toHaveLength(10);
    const n = 100_000;
    const big = Array.from({ length: n }, (_, i) => i);
    const out = downsample(big, big, 500);
    expect(out.length).toBeLessThanOrEqual(500);
    expect(out.length).toBeGreaterThan(400);
    expect(out[0]).toEqual({ x: 0, y: 0 });
    expect(out[out.length - 1]).toEqual({ x: n - 1, y: n - 1 });
    for (let i = 1; i < out.length; i++) expect(out[i].x).toBeGreaterThan(out[i - 1].x);
    // bucket means of y = x stay on the line
    for (const p of out) expect(p.y).toBeCloseTo(p.x);
  });

  it('log scale drops non-positive points', () => {
    expect(
      positiveOnly([
        { x: 0, y: 0 },
        { x: 1, y: 2 },
        { x: 2, y: -1 },
        { x: 3, y: Number.NaN },
      ]),
    ).toEqual([{ x: 1, y: 2 }]);
  });

  it('labels position buckets', () => {
    expect([0, 1, 2, 3, 4].map(positionBucketLabel)).toEqual(['0', '1', '2–3', '4–7', '8–15']);
  });
});
