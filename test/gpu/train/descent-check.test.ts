import { describe, expect, it } from 'vitest';
import { defaultModelConfig } from '../../../src/gpu/model/config.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { descentSteps } from '../../../src/gpu/train/descent-check.ts';
import { NiahTask } from '../../../src/tasks/niah.ts';
import { PASSKEY_VOCAB_SIZE } from '../../../src/tasks/passkey-vocab.ts';

describe('descent check of a ROSA projection', () => {
  // Wv with a tiny injection: its counterfactual gradient is the exact first-order effect of the
  // value bits, so a large enough step against it lowers the loss and one along it raises it.
  it('lowers the loss against the value gradient, raises it along, and restores the weights', async () => {
    const T = 16;
    const config = defaultModelConfig({
      vocabSize: PASSKEY_VOCAB_SIZE,
      seqLen: T,
      layers: 1,
      width: 8,
      heads: 2,
      mlpHidden: 16,
      window: 4,
      variant: 'window+rosa',
      rosa: { bits: 4, semantics: 'rosa-tuning', qk: 'independent', eInit: 0.001 },
    });
    const { tokens, targets, B } = new NiahTask({ seqLen: T, keyLength: 1, filler: 'random', seed: 3 }).batch(
      'train',
      0,
      4,
    );
    const model = new Model(new CpuBackend(), config, initialParameters(config, 2));
    const scanner = inlineScanner();
    const base = await model.forward(tokens, targets, B, T, scanner, true);
    model.backward();
    const wv = model.params.get('layers.0.rosa.wv')!;
    const before = Float32Array.from(wv.param);
    const gradient = Float32Array.from(wv.grad);
    const steps = await descentSteps({
      model,
      scanner,
      tokens,
      targets,
      B,
      T,
      baseLoss: base.loss.meanLoss,
      matrices: [{ param: wv.param, surrogate: gradient, truth: new Float64Array(gradient.length) }],
      relativeSteps: [0.3, 1],
    });
    for (const s of steps) {
      expect(s.surrogate).toBeLessThan(0);
      expect(s.surrogateAscent).toBeGreaterThan(0);
      expect(s.trueBits).toBeNull();
    }
    expect(wv.param).toEqual(before);
    expect((await model.forward(tokens, targets, B, T, scanner)).loss.meanLoss).toBe(base.loss.meanLoss);
  });
});
