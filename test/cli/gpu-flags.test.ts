// The WebGPU feature choices (gpu.subgroups, gpu.f16) as command-line flags: they reach every
// run's spec, absent flags leave the spec without them (the defaults), bad values are named.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseArgs, settingsPatch } from '../../cli/args.ts';
import { settingsDiff } from '../../src/config/diff.ts';
import { parsePreset, presetRuns } from '../../src/gpu/train/preset.ts';

const preset = parsePreset(
  JSON.parse(readFileSync(new URL('../../presets/niah-compare-small.json', import.meta.url), 'utf8')),
);

describe('gpu feature flags', () => {
  it('--gpu.subgroups and --gpu.f16 reach every run spec, the other filled from its default', () => {
    const both = parseArgs(['--gpu.subgroups', 'off', '--gpu.f16', 'auto'], []);
    expect(both.errors).toEqual([]);
    const runs = presetRuns(preset, 'webgpu', settingsPatch(both.settings));
    expect(runs.length).toBeGreaterThan(1);
    for (const run of runs) expect(run.spec.gpu).toEqual({ subgroups: 'off', f16: 'auto' });
    const one = parseArgs(['--gpu.f16=auto'], []);
    const [first] = presetRuns(preset, 'webgpu', settingsPatch(one.settings));
    expect(first.spec.gpu).toEqual({ subgroups: 'auto', f16: 'auto' });
  });

  it('without the flags a spec has no gpu section (every default)', () => {
    const none = parseArgs([], []);
    const [first] = presetRuns(preset, 'webgpu', settingsPatch(none.settings));
    expect(first.spec.gpu).toBeUndefined();
  });

  it('refuses a value that is not a mode, naming the flag and the choices', () => {
    const bad = parseArgs(['--gpu.subgroups', 'on'], []);
    expect(bad.errors).toEqual([
      { field: '--gpu.subgroups', message: 'must be one of auto, off (got "on")' },
    ]);
  });
});

describe('gpu settings in the differences between runs', () => {
  it('an absent gpu section counts as the defaults; a changed mode shows', () => {
    const [plain] = presetRuns(preset, 'webgpu');
    const same = { ...plain.spec, gpu: { subgroups: 'auto' as const, f16: 'off' as const } };
    expect(settingsDiff([plain.spec, same])).toEqual([]);
    const off = { ...plain.spec, gpu: { subgroups: 'off' as const, f16: 'off' as const } };
    expect(settingsDiff([plain.spec, off])).toEqual([
      { path: 'gpu.subgroups', label: 'Subgroups', values: ['auto', 'off'] },
    ]);
  });
});
