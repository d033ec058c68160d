import { describe, expect, it } from 'vitest';
import {
  extentOf,
  linearTicks,
  linePath,
  logDomain,
  logTicks,
  makeScale,
  nearestIndex,
  niceDomain,
  niceStep,
} from '../../../src/ui/charts/axes.ts';

const pts = (...ys: number[]) => ys.map((y, x) => ({ x, y }));

describe('chart axes', () => {
  it('finds the extent of finite (and, for log axes, positive) values', () => {
    const lines = [{ points: pts(3, Number.NaN, -1) }, { points: pts(0, 7) }];
    expect(extentOf(lines, (p) => p.y)).toEqual({ min: -1, max: 7 });
    expect(extentOf(lines, (p) => p.y, true)).toEqual({ min: 3, max: 7 });
    expect(extentOf([{ points: [] }], (p) => p.y)).toBeNull();
  });

  it('picks 1-2-5 steps and widens domains to whole steps', () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(1, 4)).toBe(0.2);
    expect(niceStep(730, 5)).toBe(100);
    expect(niceDomain({ min: 0.37, max: 4.2 }, 5)).toEqual({ min: 0, max: 5 });
    // a flat line still gets a visible span around it
    const flat = niceDomain({ min: 2, max: 2 }, 4);
    expect(flat.min).toBeLessThan(2);
    expect(flat.max).toBeGreaterThan(2);
  });

  it('puts linear ticks on exact multiples inside the domain', () => {
    expect(linearTicks({ min: 0, max: 1 }, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks({ min: 3, max: 997 }, 5)).toEqual([200, 400, 600, 800]);
    // steps: never a tick between two whole steps
    expect(linearTicks({ min: 1, max: 6 }, 10, 1)).toEqual([1, 2, 3, 4, 5, 6]);
    const ticks = linearTicks({ min: 0.1, max: 0.7 }, 6);
    expect(ticks).toContain(0.3); // not 0.30000000000000004
  });

  it('puts log ticks at 1-2-5 per decade, or decades when the range is wide', () => {
    expect(logTicks({ min: 0.9, max: 11 })).toEqual([1, 2, 5, 10]);
    const wide = logTicks({ min: 1e-4, max: 10 });
    expect(wide).toEqual([1e-4, 1e-3, 1e-2, 0.1, 1, 10]);
    const narrow = logTicks({ min: 2.1, max: 2.9 });
    expect(narrow.length).toBeGreaterThanOrEqual(2);
    expect(narrow.every((v) => v >= 2.1 && v <= 2.9)).toBe(true);
    const d = logDomain({ min: 0.01, max: 1 });
    expect(d.min).toBeLessThan(0.01);
    expect(d.max).toBeGreaterThan(1);
  });

  it('maps domains onto pixels linearly and logarithmically (y grows downward)', () => {
    const sy = makeScale({ min: 0, max: 10 }, 200, 0);
    expect(sy(0)).toBe(200);
    expect(sy(10)).toBe(0);
    expect(sy(2.5)).toBe(150);
    const ly = makeScale({ min: 1, max: 100 }, 100, 0, true);
    expect(ly(10)).toBeCloseTo(50);
  });

  it('draws a path through every point and finds the nearest point by x', () => {
    const p = [
      { x: 0, y: 0 },
      { x: 10, y: 1 },
      { x: 30, y: 2 },
    ];
    expect(
      linePath(
        p,
        (x) => x,
        (y) => 100 - 10 * y,
      ),
    ).toBe('M0 100L10 90L30 80');
    expect(nearestIndex(p, -5)).toBe(0);
    expect(nearestIndex(p, 4)).toBe(0);
    expect(nearestIndex(p, 6)).toBe(1);
    expect(nearestIndex(p, 21)).toBe(2);
    expect(nearestIndex(p, 99)).toBe(2);
    expect(nearestIndex([], 1)).toBe(-1);
  });
});
