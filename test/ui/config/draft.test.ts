import { describe, expect, it } from 'vitest';
import { PASSKEY_VOCAB_SIZE } from '../../../src/tasks/passkey-vocab.ts';
import { buildExperiment, DEFAULT_DRAFT, type ExperimentDraft } from '../../../src/ui/config/draft.ts';
import { applyPreset, PRESETS } from '../../../src/ui/presets.ts';

const draft = (over: Partial<ExperimentDraft> = {}): ExperimentDraft => ({ ...DEFAULT_DRAFT, ...over });
const limits = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };

describe('buildExperiment', () => {
  it('makes one spec per variant on the same task, data and seed', () => {
    const built = buildExperiment(draft({ variants: ['global', 'window', 'window+rosa'], seed: '7' }), {
      experimentId: 'x',
      label: 'E1',
    });
    expect(built.errors).toEqual([]);
    expect(built.specs.map((s) => s.id)).toEqual(['x/global', 'x/window', 'x/window+rosa']);
    expect(built.specs.map((s) => s.name)).toEqual(['E1 global', 'E1 window', 'E1 window+rosa']);
    expect(new Set(built.specs.map((s) => JSON.stringify(s.task))).size).toBe(1);
    expect(built.specs.every((s) => s.train.seed === 7)).toBe(true);
    expect(built.specs.map((s) => s.model.variant)).toEqual(['global', 'window', 'window+rosa']);
    const s = built.specs[0];
    expect(s.model.vocabSize).toBe(PASSKEY_VOCAB_SIZE);
    expect(s.model.seqLen).toBe(s.task.seqLen);
  });

  it('repeats each variant over seeds seed, seed + 1, … as runs of their own', () => {
    const built = buildExperiment(draft({ variants: ['global', 'window'], seed: '7', repeats: '3' }), {
      experimentId: 'x',
      label: 'E1',
    });
    expect(built.errors).toEqual([]);
    expect(built.specs.map((s) => s.id)).toEqual([
      'x/global/seed-7',
      'x/global/seed-8',
      'x/global/seed-9',
      'x/window/seed-7',
      'x/window/seed-8',
      'x/window/seed-9',
    ]);
    expect(built.specs.map((s) => s.train.seed)).toEqual([7, 8, 9, 7, 8, 9]);
    expect(built.specs[1].name).toBe('E1 global · seed 8');
    expect(built.specs.every((s) => s.train.repeats === 3)).toBe(true);
  });

  it('refuses repeats out of range, and seeds that would run past the limit', () => {
    expect(buildExperiment(draft({ repeats: '11' })).byField['train.repeats']?.[0]).toMatch(/from 1 to 10/);
    const high = buildExperiment(draft({ seed: String(2 ** 31 - 2), repeats: '3' }));
    expect(high.specs).toEqual([]);
    expect(high.byField['train.seed']?.[0]).toMatch(/last seed would be 2147483648/);
  });

  it('orders variants canonically whatever the order they were picked in', () => {
    const built = buildExperiment(draft({ variants: ['window+rosa', 'global'] }));
    expect(built.specs.map((s) => s.model.variant)).toEqual(['global', 'window+rosa']);
  });

  it('files validator messages under the field names of the form', () => {
    const built = buildExperiment(draft({ width: '66', heads: '4', variants: ['window+rosa'] }));
    expect(built.specs).toEqual([]);
    expect(built.byField['model.rosa.bits']?.[0]).toMatch(/must divide width 66/);
    expect(built.byField['model.heads']?.[0]).toMatch(/width \/ heads must be even|must divide width/);
  });

  it('explains text that is not a number instead of passing NaN on', () => {
    const built = buildExperiment(draft({ lr: 'fast', layers: '', steps: '10.5' }));
    expect(built.byField['train.lr']).toEqual(['must be a number (got "fast")']);
    expect(built.byField['model.layers']).toEqual(['is required']);
    expect(built.byField['train.steps']).toEqual(['must be a whole number (got 10.5)']);
  });

  it('moves model seqLen and vocabulary messages to the task fields', () => {
    const tiny = { maxStorageBufferBindingSize: 2 ** 20, maxBufferSize: 2 ** 20 };
    const built = buildExperiment(draft({ seqLen: '8192', batchSize: '8' }), { engine: { limits: tiny } });
    expect(built.byField['task.seqLen']?.[0]).toMatch(/MiB buffer but this device allows 1 MiB/);
    expect(built.byField['model.seqLen']).toBeUndefined();
  });

  it('checks sizes against the device limits only for the webgpu backend', () => {
    const tiny = { maxStorageBufferBindingSize: 2 ** 20, maxBufferSize: 2 ** 20 };
    const cpu = buildExperiment(draft({ seqLen: '8192', backend: 'cpu' }), { engine: { limits: tiny } });
    expect(cpu.errors).toEqual([]);
  });

  it('refuses webgpu when the engine has no adapter, and notes unknown limits', () => {
    const built = buildExperiment(draft(), { engine: { webgpuUnavailable: 'navigator.gpu is missing' } });
    expect(built.byField['backend']?.[0]).toMatch(/WebGPU cannot be used here \(navigator.gpu is missing\)/);
    expect(buildExperiment(draft()).notes[0]).toMatch(/limits are not known yet/);
    expect(buildExperiment(draft(), { engine: { limits } }).notes).toEqual([]);
  });

  it('needs at least one variant and a text for the user-text task', () => {
    expect(buildExperiment(draft({ variants: [] })).byField['variants']).toEqual([
      'pick at least one variant to train',
    ]);
    const text = buildExperiment(draft({ task: 'text', textSource: 'user', userText: '' }));
    expect(text.byField['task.text']?.[0]).toMatch(/empty/);
    // Too short for one validation sequence: said before Start, not after the run fails.
    const short = buildExperiment(
      draft({ task: 'text', textSource: 'user', userText: 'abc'.repeat(100), seqLen: '64' }),
    );
    expect(short.byField['task.text']?.[0]).toMatch(
      /too short: 300 characters, but a sequence of 64 needs at least 650/,
    );
  });

  it('sizes the vocabulary of a user text from its characters', () => {
    const built = buildExperiment(
      draft({ task: 'text', textSource: 'user', userText: 'abcabc'.repeat(200), seqLen: '64' }),
    );
    expect(built.errors).toEqual([]);
    expect(built.specs[0].model.vocabSize).toBe(4); // a, b, c and the unknown token
    expect(built.specs[0].task).toMatchObject({ kind: 'text', source: 'user' });
  });

  it('passes the NIAH loss and the ROSA q/k option through', () => {
    const built = buildExperiment(
      draft({ niahLoss: 'all', qk: 'shared', filler: 'repeat', variants: ['window+rosa'] }),
    );
    expect(built.specs[0].task).toMatchObject({ kind: 'niah', filler: 'repeat', loss: 'all' });
    expect(built.specs[0].model.rosa.qk).toBe('shared');
    const plain = buildExperiment(draft({ variants: ['window+rosa'] })).specs[0];
    expect(plain.task).toMatchObject({ loss: 'answer' });
    expect(plain.model.rosa.qk).toBe('independent');
  });

  it('checks MQAR pairs against the vocabulary', () => {
    const built = buildExperiment(draft({ task: 'mqar', seqLen: '128', taskVocab: '16', pairs: '8' }));
    expect(built.byField['task.pairs']?.[0]).toMatch(/at most 7 keys fit in vocabulary 16/);
  });

  it('every preset is valid on a device with the default limits', () => {
    for (const preset of PRESETS) {
      const built = buildExperiment(applyPreset(preset), { engine: { limits } });
      expect(built.errors, preset.name).toEqual([]);
      expect(built.specs.length, preset.name).toBeGreaterThan(0);
    }
  });
});
