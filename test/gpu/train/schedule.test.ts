import { describe, expect, it } from 'vitest';
import { groupRates, warmupCosine, warmupLength } from '../../../src/gpu/train/schedule.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';

describe('learning-rate schedule', () => {
  it('warms up linearly, then decays by a cosine to the floor', () => {
    expect(warmupCosine(0, 100, 1, 10, 0.1)).toBeCloseTo(0.1);
    expect(warmupCosine(9, 100, 1, 10, 0.1)).toBeCloseTo(1);
    expect(warmupCosine(10, 100, 1, 10, 0.1)).toBeCloseTo(1);
    expect(warmupCosine(55, 100, 1, 10, 0.1)).toBeCloseTo(0.55);
    expect(warmupCosine(100, 100, 1, 10, 0.1)).toBeCloseTo(0.1);
  });

  it('freezes the base in adapter-only training and re-warms after stage A', () => {
    const t = defaultTrainConfig({
      steps: 100,
      lr: 1e-3,
      rosaLr: 3e-3,
      warmupSteps: 5,
      protocol: 'adapter-only',
    });
    expect(groupRates(t, 50).base).toBe(0);
    expect(groupRates(t, 50).rosa).toBeGreaterThan(0);
    // Stage B: the base at its own rate (baseLr, not lr), the adapter at its full rate, both re-warmed.
    const two = { ...t, protocol: 'two-stage' as const, stageASteps: 40, baseLr: 5e-6 };
    expect(groupRates(two, 39)).toMatchObject({ base: 0, stage: 'A' });
    const b = groupRates(two, 40);
    expect(b.stage).toBe('B');
    expect(b.base).toBeCloseTo(5e-6 / 5, 12);
    expect(b.rosa).toBeCloseTo(3e-3 / 5, 12);
    expect(groupRates(two, 44).base).toBeCloseTo(5e-6, 12);
  });
});

describe('sequence-length warm-up', () => {
  it('holds 16 tokens for half the warm-up, then doubles up to the full length', () => {
    const lengths = [0, 149, 150, 199, 200, 249, 250, 299, 300, 500].map((s) => warmupLength(s, 300, 256, 7));
    expect(lengths).toEqual([16, 16, 32, 32, 64, 64, 128, 128, 256, 256]);
    expect(warmupLength(0, 100, 48, 30)).toBe(30);
    expect(warmupLength(60, 100, 48, 5)).toBe(32);
    expect(warmupLength(5, 0, 256, 7)).toBe(256);
    expect(warmupLength(5, 100, 12, 7)).toBe(12);
  });
});
