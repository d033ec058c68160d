// cpu.threads as a command-line flag: it reaches every run's spec, an absent flag leaves the spec
// without a cpu section (one thread), and a count out of range is refused by name.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseArgs, settingsPatch } from '../../cli/args.ts';
import { settingsDiff } from '../../src/config/diff.ts';
import { parsePreset, presetRuns } from '../../src/gpu/train/preset.ts';

const preset = parsePreset(
  JSON.parse(readFileSync(new URL('../../presets/niah-compare-small.json', import.meta.url), 'utf8')),
);

describe('cpu.threads flag', () => {
  it('--cpu.threads reaches every run spec', () => {
    const two = parseArgs(['--cpu.threads', '2'], []);
    expect(two.errors).toEqual([]);
    const runs = presetRuns(preset, 'cpu', settingsPatch(two.settings));
    expect(runs.length).toBeGreaterThan(1);
    for (const run of runs) expect(run.spec.cpu).toEqual({ threads: 2 });
  });

  it('without the flag a spec has no cpu section', () => {
    const [first] = presetRuns(preset, 'cpu', settingsPatch(parseArgs([], []).settings));
    expect(first.spec.cpu).toBeUndefined();
  });

  it('refuses 0, 65 and 1.5 threads, naming the flag', () => {
    for (const bad of ['0', '65', '1.5']) {
      const parsed = parseArgs(['--cpu.threads', bad], []);
      expect(parsed.errors).toHaveLength(1);
      expect(parsed.errors[0].field).toBe('--cpu.threads');
    }
  });

  it('an absent cpu section counts as one thread in the differences between runs', () => {
    const [plain] = presetRuns(preset, 'cpu');
    expect(settingsDiff([plain.spec, { ...plain.spec, cpu: { threads: 1 } }])).toEqual([]);
    expect(settingsDiff([plain.spec, { ...plain.spec, cpu: { threads: 4 } }])).toEqual([
      { path: 'cpu.threads', label: 'CPU threads', values: ['1', '4'] },
    ]);
  });
});
