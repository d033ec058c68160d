// The experiment CLI refuses bad input with one named line and a non-zero exit, before any
// training: a bad flag value, an unknown flag or variant, a malformed preset.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

function experiment(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/experiment.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr.trim() };
}

function presetFile(json: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'preset-'));
  const path = join(dir, 'p.json');
  writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json));
  return path;
}

const small = ['--preset', 'niah-compare-small', '--backend', 'cpu'];

describe('experiment CLI input errors', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'a step count that is not a number',
      [...small, '--steps', 'abc'],
      /--steps must be a whole number from 1 to/,
    ],
    ['zero steps', [...small, '--steps', '0'], /--steps must be a whole number from 1 to/],
    [
      'a setting out of range',
      [...small, '--model.rosa.bits', '9'],
      /--model\.rosa\.bits must be a whole number from 1 to 8/,
    ],
    ['an unknown flag', [...small, '--stepz', '3'], /unknown flag --stepz/],
    ['an unknown variant', [...small, '--variants', 'nosuch'], /--variants names "nosuch"/],
    ['a bad worker count', [...small, '--workers', 'abc'], /--workers must be a whole number/],
    [
      'a bad backend',
      ['--preset', 'niah-compare-small', '--backend', 'tpu'],
      /--backend must be webgpu or cpu/,
    ],
    ['a missing preset', ['--preset', 'no-such-preset'], /cannot read preset/],
    ['a preset that is null', ['--preset', presetFile('null')], /preset/],
    [
      'a preset without variants',
      ['--preset', presetFile({ name: 'x', description: '', task: { kind: 'niah' } })],
      /preset\.variants/,
    ],
    [
      'a preset with an empty variant list',
      ['--preset', presetFile({ name: 'x', description: '', task: { kind: 'niah' }, variants: [] })],
      /preset\.variants must list at least one variant/,
    ],
    [
      'variants given as a string',
      ['--preset', presetFile({ name: 'x', description: '', task: { kind: 'niah' }, variants: 'global' })],
      /preset\.variants/,
    ],
    [
      'a preset without a task',
      ['--preset', presetFile({ name: 'x', description: '', variants: [{ name: 'g', variant: 'global' }] })],
      /preset\.task/,
    ],
  ];
  for (const [what, args, says] of cases) {
    it(`refuses ${what}`, () => {
      const r = experiment(...args);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(says);
      expect(r.stderr, 'no stack trace').not.toMatch(/\n\s+at /);
    });
  }
});
