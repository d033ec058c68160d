// The settings that differ between runs: schema leaves compared by value, labelled as the form
// labels them; settings a run does not use show "n/a" and are no difference by themselves.

import { describe, expect, it } from 'vitest';
import { settingsDiff } from '../../src/config/diff.ts';
import type { RunSpec } from '../../src/config/schema.ts';
import { defaultModelConfig } from '../../src/gpu/model/config.ts';
import { defaultTrainConfig } from '../../src/gpu/train/train-config.ts';

function spec(over: {
  variant?: RunSpec['model']['variant'];
  window?: number;
  seed?: number;
  bits?: number;
}) {
  const model = defaultModelConfig({
    seqLen: 64,
    variant: over.variant ?? 'window',
    window: over.window ?? 16,
  });
  return {
    id: 'x',
    name: 'x',
    task: { kind: 'niah', seqLen: 64, keyLength: 2, filler: 'random' },
    model: { ...model, rosa: { ...model.rosa, bits: over.bits ?? model.rosa.bits } },
    train: defaultTrainConfig({ seed: over.seed ?? 1 }),
    backend: 'cpu',
  } as RunSpec;
}

describe('settingsDiff', () => {
  it('names each differing setting with its label and every run’s value', () => {
    expect(settingsDiff([spec({ window: 16, seed: 1 }), spec({ window: 8, seed: 2 })])).toEqual([
      { path: 'model.window', label: 'Window W', values: ['16', '8'] },
      { path: 'train.seed', label: 'Seed', values: ['1', '2'] },
    ]);
  });

  it('is empty for one run or identical runs', () => {
    expect(settingsDiff([spec({})])).toEqual([]);
    expect(settingsDiff([spec({}), spec({})])).toEqual([]);
  });

  it('shows n/a where a setting does not apply, and ignores a difference only there', () => {
    // ROSA bits differ, but only the ROSA run uses them.
    const diff = settingsDiff([
      spec({ variant: 'window', bits: 2 }),
      spec({ variant: 'window+rosa', bits: 8 }),
    ]);
    expect(diff.map((d) => d.path)).toEqual(['model.variant']);
    const both = settingsDiff([
      spec({ variant: 'window+rosa', bits: 2 }),
      spec({ variant: 'window+rosa', bits: 8 }),
      spec({ variant: 'global', window: 4 }),
    ]);
    expect(both.find((d) => d.path === 'model.rosa.bits')?.values).toEqual(['2', '8', 'n/a']);
    expect(both.find((d) => d.path === 'model.window')).toBeUndefined();
  });
});
