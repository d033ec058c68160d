// The interop commands end to end: a checkpoint on disk → `npm run export` → a folder, and
// `npm run logits` on both, against the CPU logits computed here. Each command runs in its own
// tsx process, as a user would run it.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withRunDefaults } from '../../src/config/walk.ts';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  encodeCheckpoint,
} from '../../src/gpu/checkpoint/checkpoint.ts';
import type { RunSpec } from '../../src/gpu/train/protocol.ts';
import { cpuLogits } from '../../src/interop/cpu-logits.ts';
import { passkeyVocab } from '../../src/tasks/passkey-vocab.ts';
import { fixtureConfig, seededParameters } from './seeded-model.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const dir = mkdtempSync(join(tmpdir(), 'hf-cli-'));

function run(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(TSX, [join(ROOT, 'cli', script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A NIAH run: the passkey vocabulary (printable ASCII, ⟨K⟩, ⟨Q⟩), a window+rosa model with
// layer 0 global, so the export is a Ministral folder with an adapter and a tokenizer.
const config = fixtureConfig({
  vocabSize: passkeyVocab.size,
  seqLen: 64,
  variant: 'window+rosa',
  window: 3,
  globalLayers: [0],
  rosa: { layers: [1], bits: 4, semantics: 'rwkv8', qk: 'shared', eInit: 0.5 },
});
const parameters = seededParameters(config, 5);
const spec = withRunDefaults({
  id: 'cli-test',
  name: 'cli test',
  task: { kind: 'niah', seqLen: 64 },
  model: config,
  train: {},
  backend: 'cpu',
}) as RunSpec;
const { weights, manifest } = encodeCheckpoint({
  manifest: {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    spec,
    step: 7,
    savedAt: '2026-01-01T00:00:00.000Z',
    metrics: { steps: [], evals: [] },
  },
  parameters,
  optimizer: null,
});
writeFileSync(join(dir, 'ck.safetensors'), weights);
writeFileSync(join(dir, 'ck.json'), manifest);
const TOKENS = [33, 65, 95, 17, 18, 96, 33, 65, 0, 94];

afterAll(() => {
  execFileSync('rm', ['-rf', dir]);
});

describe('npm run export / npm run logits', () => {
  it('exports a checkpoint, and both print the logits of the model', async () => {
    const exported = run('export.ts', ['--checkpoint', join(dir, 'ck.json'), '--out', join(dir, 'hf')]);
    expect(exported.stderr).toContain('MinistralForCausalLM');
    expect(exported.status).toBe(0);
    const hfConfig = JSON.parse(readFileSync(join(dir, 'hf', 'config.json'), 'utf8'));
    expect(hfConfig.layer_types).toEqual(['full_attention', 'sliding_attention']);
    expect(hfConfig.rosa_playground).toMatchObject({ run: 'cli-test', step: 7 });
    const vocab = JSON.parse(readFileSync(join(dir, 'hf', 'vocab.json'), 'utf8'));
    expect(vocab['⟨K⟩']).toBe(95);
    expect(vocab.A).toBe(33);
    expect(JSON.parse(readFileSync(join(dir, 'hf', 'rosa_adapter_config.json'), 'utf8')).qk).toBe('shared');

    const expected = Array.from(await cpuLogits(config, parameters, TOKENS));
    const args = ['--tokens', TOKENS.join(',')];
    for (const source of [join(dir, 'ck.safetensors'), join(dir, 'hf')]) {
      const r = run('logits.ts', [source, ...args]);
      expect(r.status, r.stderr).toBe(0);
      const rows = JSON.parse(r.stdout) as number[][];
      expect(rows.length).toBe(TOKENS.length);
      expect(rows.flat().map(Math.fround)).toEqual(expected);
    }
    // Another variant of the same weights computes something else.
    const global = run('logits.ts', [join(dir, 'hf'), ...args, '--variant', 'global']);
    expect(global.status, global.stderr).toBe(0);
    expect((JSON.parse(global.stdout) as number[][]).flat().map(Math.fround)).not.toEqual(expected);
  });

  it('says what is wrong, with exit code 2', () => {
    writeFileSync(join(dir, 'hf', 'config.json'), JSON.stringify({ model_type: 'olmo2', hidden_size: 16 }));
    const r = run('logits.ts', [join(dir, 'hf'), '--tokens', '1,2']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('"olmo2" normalises q and k');
    const usage = run('logits.ts', [join(dir, 'ck.json')]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--tokens is required');
  });
});
