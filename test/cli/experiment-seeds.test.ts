// The experiment CLI with two seeds: each variant trains once per seed (seed, seed + 1) and
// results.json gets, per variant, the mean, min and max of its figures over the seeds.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Spread } from '../../src/common/seeds.ts';

const root = new URL('../../', import.meta.url).pathname;

/** A preset that trains in a second on the CPU backend: 1 layer, width 16, 24 tokens, 4 steps. */
const TINY = {
  name: 'tiny-seeds',
  description: 'two variants, a few steps',
  task: { kind: 'niah', seqLen: 24, keyLength: 1, filler: 'random' },
  model: { layers: 1, width: 16, heads: 2, mlpHidden: 16, window: 4 },
  train: { steps: 4, batchSize: 2, warmupSteps: 1, evalEvery: 0, evalBatches: 1, seed: 5 },
  variants: [
    { name: 'global', variant: 'global' },
    { name: 'window', variant: 'window' },
    // Seed i evaluates seed i of "global" again, as it is.
    { name: 'global again', variant: 'global', from: 'global', evalOnly: true },
  ],
  evaluation: { niahDistances: [8], niahSamples: 10 },
};

interface Results {
  results: Array<{
    name: string;
    seed: number;
    status: string;
    spec: { id: string };
    final: { loss: number };
  }>;
  aggregates: Array<{ name: string; seeds: number[]; metrics: Record<string, Spread> }>;
}

describe('experiment CLI over seeds', () => {
  it('runs each variant with seeds seed, seed + 1 and writes the aggregates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seeds-'));
    const preset = join(dir, 'tiny.json');
    writeFileSync(preset, JSON.stringify(TINY));
    const out = join(dir, 'out');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/experiment.ts',
        '--preset',
        preset,
        '--backend',
        'cpu',
        '--workers',
        '0',
      ].concat(['--out', out, '--train.repeats', '2']),
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[global seed 6\] step 4\/4/);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;

    expect(json.results.map((x) => `${x.name}@${x.seed}`)).toEqual([
      'global@5',
      'global@6',
      'window@5',
      'window@6',
      'global again@5',
      'global again@6',
    ]);
    expect(json.results.slice(0, 4).every((x) => x.status === 'finished')).toBe(true);
    expect(r.stderr).toMatch(/\[global again seed 6\] starts from "global"/);
    // Each seed is its own run (its own id, its own checkpoints and CSV rows).
    expect(new Set(json.results.map((x) => x.spec.id)).size).toBe(6);
    // Each evaluated seed has the weights of the same seed of its source: the same figures.
    expect(json.results[4].final.loss).toBe(json.results[0].final.loss);
    expect(json.results[5].final.loss).toBe(json.results[1].final.loss);
    const [g5, g6] = json.results.map((x) => x.final.loss);
    expect(g5, 'different seeds give different losses').not.toBe(g6);

    expect(json.aggregates.map((a) => a.name)).toEqual(['global', 'window', 'global again']);
    for (const a of json.aggregates) {
      expect(a.seeds).toEqual([5, 6]);
      const losses = json.results.filter((x) => x.name === a.name).map((x) => x.final.loss);
      const loss = a.metrics['final.loss'];
      expect(loss.n).toBe(2);
      expect(loss.mean).toBeCloseTo((losses[0] + losses[1]) / 2, 10);
      expect(loss.min).toBe(Math.min(...losses));
      expect(loss.max).toBe(Math.max(...losses));
      expect(a.metrics['niahByDistance.8'].n).toBe(2);
    }
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8');
    expect(csv).toContain('tiny-seeds-global-seed6');
  }, 150_000);
});
