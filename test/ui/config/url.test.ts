import { describe, expect, it } from 'vitest';
import { buildExperiment, DEFAULT_DRAFT, type ExperimentDraft } from '../../../src/ui/config/draft.ts';
import { draftToHash, hashToDraft } from '../../../src/ui/config/url.ts';
import { applyPreset, PRESETS } from '../../../src/ui/presets.ts';

describe('config in the URL', () => {
  it('round-trips every preset exactly', () => {
    for (const preset of PRESETS) {
      const draft = applyPreset(preset);
      const back = hashToDraft(draftToHash(draft));
      expect(back.problems).toEqual([]);
      expect(back.fromLink).toBe(true);
      expect(back.draft).toEqual(draft);
    }
  });

  it('round-trips booleans, choices and odd numbers', () => {
    const draft: ExperimentDraft = {
      ...DEFAULT_DRAFT,
      task: 'mqar',
      randomFiller: true,
      layer0Global: true,
      semantics: 'rwkv8',
      backend: 'cpu',
      lr: '3e-4',
      variants: ['lrsa', 'lrsa+rosa'],
      protocol: 'two-stage',
      stageASteps: '100',
      filler: 'repeat',
      niahLoss: 'all',
      qk: 'tied-init',
      evalBatches: '3',
    };
    expect(hashToDraft(draftToHash(draft)).draft).toEqual(draft);
  });

  it('never puts the user text in the link', () => {
    const draft = {
      ...DEFAULT_DRAFT,
      task: 'text' as const,
      textSource: 'user' as const,
      userText: 'secret diary',
    };
    const hash = draftToHash(draft);
    expect(hash).not.toContain('secret');
    const back = hashToDraft(hash);
    expect(back.draft.userText).toBe('');
    // …so the form says what is missing instead of starting.
    expect(buildExperiment(back.draft).byField['task.text']?.[0]).toMatch(/empty/);
  });

  it('turns bad values into field messages instead of throwing', () => {
    const back = hashToDraft('#task=banana&variants=window,warp&width=abc&heads=3&layer0Global=maybe&lr=-1');
    expect(back.draft.task).toBe('niah');
    expect(back.draft.variants).toEqual(['window']);
    const fields = back.problems.map((p) => p.field);
    expect(fields).toEqual(['task.kind', 'variants', 'model.globalLayers']);
    expect(back.problems[0].message).toMatch(/"banana", which is not one of niah, mqar, text, induction/);
    expect(back.problems[1].message).toMatch(/unknown variant\(s\) "warp"/);
    const built = buildExperiment(back.draft);
    expect(built.byField['model.width']).toEqual(['must be a number (got "abc")']);
    expect(built.byField['train.lr']?.[0]).toMatch(/must be a number ≥ 0 and ≤ 1 \(got -1\)/);
    expect(built.specs).toEqual([]);
  });

  it('accepts a query string too and ignores unknown keys', () => {
    const back = hashToDraft('?steps=42&whatever=1');
    expect(back.draft.steps).toBe('42');
    expect(back.problems).toEqual([]);
    expect(hashToDraft('').fromLink).toBe(false);
  });

  it('clips absurdly long values', () => {
    const back = hashToDraft(`#task=${'x'.repeat(500)}`);
    expect(back.problems[0].message.length).toBeLessThan(200);
  });
});
