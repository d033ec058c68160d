import { describe, expect, it } from 'vitest';
import lrsaCompare from '../../presets/lrsa-compare.json';
import mqar from '../../presets/mqar.json';
import niahCompare from '../../presets/niah-compare.json';
import niahCompareSmall from '../../presets/niah-compare-small.json';
import niahQuick from '../../presets/niah-quick.json';
import text from '../../presets/text.json';
import { type ExperimentPreset, presetRunSpecs } from '../../src/gpu/train/preset.ts';
import { buildExperiment } from '../../src/ui/config/draft.ts';
import { applyPreset, draftFromPreset, PRESETS } from '../../src/ui/presets.ts';

const JSON_PRESETS: Record<string, unknown> = {
  'niah-compare': niahCompare,
  'niah-compare-small': niahCompareSmall,
  'niah-quick': niahQuick,
  mqar,
  text,
  'lrsa-compare': lrsaCompare,
};

describe('presets', () => {
  it('the page trains exactly what the command line trains for each experiment preset', () => {
    for (const [id, json] of Object.entries(JSON_PRESETS)) {
      const preset = PRESETS.find((p) => p.id === id);
      expect(preset, id).toBeDefined();
      const cli = presetRunSpecs(json as ExperimentPreset, 'webgpu');
      const page = buildExperiment(applyPreset(preset!)).specs;
      expect(
        page.map((s) => s.model.variant),
        id,
      ).toEqual(cli.map((s) => s.model.variant));
      page.forEach((spec, i) => {
        expect(spec.task, id).toEqual(cli[i].task);
        expect(spec.train, id).toEqual(cli[i].train);
        // The engine sizes the vocabulary from the task; everything else must match.
        expect({ ...spec.model, vocabSize: 0 }, id).toEqual({ ...cli[i].model, vocabSize: 0 });
      });
    }
  });

  it('reads task, model and training fields of a preset into form values', () => {
    const d = draftFromPreset(niahCompare as unknown as ExperimentPreset);
    expect(d).toMatchObject({
      task: 'niah',
      seqLen: '256',
      keyLength: '1',
      filler: 'random',
      variants: ['global', 'window', 'window+rosa'],
      window: '16',
      mlpHidden: '128',
      steps: '500',
      batchSize: '16',
      evalBatches: '2',
      layer0Global: false,
    });
  });
});
