import { describe, expect, it } from 'vitest';
import niahCompare from '../../presets/niah-compare.json';
import niahQuick from '../../presets/niah-quick.json';
import {
  ASSUMED_RATES,
  calibrateRate,
  estimateRunMs,
  stepFlopParts,
  stepFlops,
} from '../../src/config/duration.ts';
import type { RunSpec } from '../../src/config/schema.ts';
import { defaultModelConfig } from '../../src/gpu/model/config.ts';
import { type ExperimentPreset, presetRunSpecs } from '../../src/gpu/train/preset.ts';
import { tinyNiahSpec } from '../harness/engine.ts';

const spec = (train: Partial<RunSpec['train']> = {}): RunSpec => {
  const s = tinyNiahSpec('duration');
  return { ...s, train: { ...s.train, steps: 100, evalEvery: 0, lengthWarmup: 0, ...train } };
};

describe('duration estimate', () => {
  it('counts the work of a step: layers, width, and attention over the keys each query sees', () => {
    const m = defaultModelConfig({ layers: 2, width: 64, seqLen: 1024, window: 32, variant: 'window' });
    expect(stepFlops({ ...m, layers: 4 }, 8)).toBeGreaterThan(1.8 * stepFlops(m, 8));
    expect(stepFlops({ ...m, variant: 'global' }, 8)).toBeGreaterThan(2 * stepFlops(m, 8));
    expect(stepFlops(m, 16)).toBeCloseTo(2 * stepFlops(m, 8), -3);
  });

  it('splits a step into matmul and attention; a ROSA layer adds its four C×C projections', () => {
    const m = defaultModelConfig({ layers: 2, width: 64, seqLen: 256, window: 32, variant: 'window' });
    const rosa = defaultModelConfig({ ...m, variant: 'window+rosa', globalLayers: [] });
    const plain = stepFlopParts(m, 8);
    const withRosa = stepFlopParts(rosa, 8);
    expect(plain.matmul + plain.attention).toBe(stepFlops(m, 8));
    expect(withRosa.attention).toBe(plain.attention);
    // 2 layers × 4 projections × 2 FLOPs per multiply-add × N tokens × C², forward ×3.
    expect(withRosa.matmul - plain.matmul).toBe(3 * 2 * 4 * 2 * (8 * 256) * 64 * 64);
  });

  it('adds evaluations, and the length warm-up makes the early steps cheaper', () => {
    const rate = ASSUMED_RATES.cpu;
    const plain = estimateRunMs(spec(), rate);
    expect(estimateRunMs(spec({ evalEvery: 10, evalBatches: 4 }), rate)).toBeGreaterThan(plain);
    const long = { ...spec(), task: { ...spec().task, seqLen: 24 } };
    const warm = { ...long, train: { ...long.train, lengthWarmup: 80 } };
    expect(estimateRunMs(warm, rate)).toBeLessThan(estimateRunMs(long, rate));
  });

  it('a measured speed reproduces the timed run: steps × its ms per step', () => {
    const s = spec();
    const measured = calibrateRate(s, 250, ASSUMED_RATES.gpu);
    expect(measured.source).toBe('measured');
    expect(estimateRunMs(s, measured)).toBeCloseTo(100 * 250, 0);
  });

  it('the quick preset takes about a minute on a software adapter, the default comparison far longer', () => {
    const rate = ASSUMED_RATES['software-gpu'];
    const quick = presetRunSpecs(niahQuick as unknown as ExperimentPreset, 'webgpu');
    const ms = quick.reduce((t, s) => t + estimateRunMs(s, rate, 2), 0);
    expect(ms).toBeGreaterThan(30_000);
    expect(ms).toBeLessThan(90_000);
    const full = presetRunSpecs(niahCompare as unknown as ExperimentPreset, 'webgpu');
    expect(full.reduce((t, s) => t + estimateRunMs(s, rate, 2), 0)).toBeGreaterThan(10 * 60_000);
  });
});
