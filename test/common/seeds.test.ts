// Repeats over seeds: mean, min and max aligned by step, seeds of different lengths, and the
// per-path summary the CLI writes into results.json.

import { describe, expect, it } from 'vitest';
import { alignBySteps, seedsOf, spreadByPath, spreadOf } from '../../src/common/seeds.ts';

describe('spreadOf', () => {
  it('gives mean, min, max, sample sd and n', () => {
    const s = spreadOf([1, 2, 3, 6])!;
    expect(s.mean).toBe(3);
    expect(s.min).toBe(1);
    expect(s.max).toBe(6);
    expect(s.sd).toBeCloseTo(Math.sqrt(14 / 3), 12);
    expect(s.n).toBe(4);
  });

  it('leaves out a diverged seed and says so in n; a single seed has no spread', () => {
    expect(spreadOf([2, Number.NaN, 4])).toMatchObject({ mean: 3, min: 2, max: 4, n: 2 });
    expect(spreadOf([5])).toEqual({ mean: 5, min: 5, max: 5, sd: 0, n: 1 });
    expect(spreadOf([Number.POSITIVE_INFINITY])).toBeNull();
    expect(spreadOf([])).toBeNull();
  });
});

describe('alignBySteps', () => {
  it('averages the seeds step by step, not index by index', () => {
    const band = alignBySteps([
      { steps: [1, 2, 3], values: [4, 2, 1] },
      // Logged at other steps: step 2 has only the first seed.
      { steps: [1, 3], values: [6, 3] },
    ]);
    expect(band).toEqual([
      { step: 1, mean: 5, min: 4, max: 6, sd: Math.SQRT2, n: 2 },
      { step: 2, mean: 2, min: 2, max: 2, sd: 0, n: 1 },
      { step: 3, mean: 2, min: 1, max: 3, sd: Math.SQRT2, n: 2 },
    ]);
  });

  it('keeps going past a shorter seed with the seeds that are left', () => {
    const band = alignBySteps([
      { steps: [10, 20, 30, 40], values: [1, 1, 1, 1] },
      { steps: [10, 20], values: [3, 3] },
      { steps: [10, 20, 30], values: [5, 5, 5] },
    ]);
    expect(band.map((p) => p.step)).toEqual([10, 20, 30, 40]);
    expect(band.map((p) => p.n)).toEqual([3, 3, 2, 1]);
    expect(band.map((p) => p.mean)).toEqual([3, 3, 3, 1]);
    expect(band[2]).toMatchObject({ min: 1, max: 5 });
    // Values beyond a seed's steps (a ragged series) are ignored, not misaligned.
    expect(alignBySteps([{ steps: [1], values: [2, 99] }])).toEqual([
      { step: 1, mean: 2, min: 2, max: 2, sd: 0, n: 1 },
    ]);
  });

  it('is empty for no seeds', () => {
    expect(alignBySteps([])).toEqual([]);
  });
});

describe('spreadByPath', () => {
  it('summarises every number the seeds report, by path', () => {
    const out = spreadByPath([
      { final: { loss: 1, accuracy: 0.5 }, niahByDistance: { 32: 0.2 }, grid: [1, 2] },
      { final: { loss: 3, accuracy: 0.7 }, niahByDistance: { 32: 0.4 } },
      { final: { loss: 2, accuracy: Number.NaN } },
    ]);
    expect(Object.keys(out).sort()).toEqual(['final.accuracy', 'final.loss', 'niahByDistance.32']);
    expect(out['final.loss']).toMatchObject({ mean: 2, min: 1, max: 3, n: 3 });
    expect(out['final.accuracy'].mean).toBeCloseTo(0.6, 12);
    expect(out['final.accuracy'].n).toBe(2);
    expect(out['niahByDistance.32']).toMatchObject({ min: 0.2, max: 0.4, n: 2 });
  });
});

describe('seedsOf', () => {
  it('counts up from the seed', () => {
    expect(seedsOf(7, 3)).toEqual([7, 8, 9]);
    expect(seedsOf(1, 1)).toEqual([1]);
  });
});
