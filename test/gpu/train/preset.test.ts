// Presets with `from` and `evalOnly` (ROSA-Tuning's protocol): what runs from what, and the
// named errors for a preset that cannot run.

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/validate.ts';
import { parsePreset, presetRuns } from '../../../src/gpu/train/preset.ts';

function preset(variants: unknown[], model: Record<string, unknown> = {}) {
  return {
    name: 'p',
    description: 'from and evalOnly',
    task: { kind: 'niah', seqLen: 48, keyLength: 1 },
    model: { layers: 2, width: 32, heads: 2, window: 4, ...model },
    train: { steps: 20 },
    variants,
  };
}

function fields(json: unknown): Array<[string, string]> {
  try {
    presetRuns(parsePreset(json), 'cpu');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).fields.map((f) => [f.field, f.message]);
  }
  return [];
}

describe('preset variants that start from others', () => {
  it('runs a variant from an earlier one and evaluates another without training', () => {
    const runs = presetRuns(
      parsePreset(
        preset([
          { name: 'global', variant: 'global' },
          { name: 'global→window', variant: 'window', from: 'global', evalOnly: true },
          {
            name: 'global→window+rosa',
            variant: 'window+rosa',
            from: 'global',
            train: { protocol: 'two-stage', stageASteps: 10, baseLr: 5e-6 },
          },
          {
            name: 'from a file',
            variant: 'window',
            from: 'runs/x/checkpoints/global-step20.json',
            evalOnly: true,
          },
        ]),
      ),
      'cpu',
    );
    expect(runs.map((r) => [r.spec.name, r.from, r.evalOnly])).toEqual([
      ['global', undefined, false],
      ['global→window', { variant: 'global' }, true],
      ['global→window+rosa', { variant: 'global' }, false],
      ['from a file', { checkpoint: 'runs/x/checkpoints/global-step20.json' }, true],
    ]);
    expect(runs[2].spec.train).toMatchObject({ protocol: 'two-stage', stageASteps: 10, baseLr: 5e-6 });
  });

  it('names an unknown source, a cycle, a later source and the variant itself', () => {
    expect(fields(preset([{ name: 'a', variant: 'window', from: 'nosuch' }]))).toEqual([
      ['preset.variants[0].from', expect.stringMatching(/names no variant of this preset \("nosuch"\)/)],
    ]);
    expect(fields(preset([{ name: 'a', variant: 'window', from: 'a' }]))).toEqual([
      ['preset.variants[0].from', 'names the variant itself (a cycle)'],
    ]);
    const cycle = fields(
      preset([
        { name: 'a', variant: 'window', from: 'b' },
        { name: 'b', variant: 'global', from: 'a' },
      ]),
    );
    expect(cycle[0]).toEqual(['preset.variants[0].from', expect.stringMatching(/a cycle/)]);
    const later = fields(
      preset([
        { name: 'a', variant: 'window', from: 'b' },
        { name: 'b', variant: 'global' },
      ]),
    );
    expect(later).toEqual([['preset.variants[0].from', expect.stringMatching(/comes later in the list/)]]);
  });

  it('refuses evalOnly without weights, training settings on an evaluation, and another base model', () => {
    expect(fields(preset([{ name: 'a', variant: 'window', evalOnly: true }]))).toEqual([
      ['preset.variants[0].evalOnly', 'needs "from": only trained weights can be evaluated'],
    ]);
    expect(
      fields(
        preset([
          { name: 'g', variant: 'global' },
          { name: 'w', variant: 'window', from: 'g', evalOnly: true, train: { steps: 5, lr: 0.1 } },
        ]),
      ),
    ).toEqual([
      ['preset.variants[1].train', 'steps, lr would have no effect: the variant is evaluated only'],
    ]);
    expect(
      fields(
        preset([
          { name: 'g', variant: 'global' },
          { name: 'w', variant: 'window', from: 'g', model: { width: 64, mlpHidden: 176 } },
        ]),
      ),
    ).toEqual([
      [
        'preset.variants[1].from',
        expect.stringMatching(/"g" has another base model \(width 32 vs 64, mlpHidden 88 vs 176\)/),
      ],
    ]);
    expect(
      fields(
        preset([
          { name: 'a', variant: 'window' },
          { name: 'a', variant: 'global' },
        ]),
      ),
    ).toEqual([['preset.variants[1].name', '"a" is used twice; names must differ']]);
  });

  it('files a bad value under the variant that set it, naming the variant', () => {
    const errors = fields(
      preset([
        { name: 'g', variant: 'global' },
        { name: 'r', variant: 'window+rosa', model: { rosa: { bits: 3 } } },
      ]),
    );
    expect(errors).toEqual([
      ['preset.variants[1].model.rosa.bits', 'must divide width 32 (got 3) (variant "r")'],
    ]);
  });
});
