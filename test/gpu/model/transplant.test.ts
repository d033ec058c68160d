// ROSA-Tuning's retrofit: a global model's weights moved into a window+rosa model. With the
// paper's adapter initialisation (e0 = e1 = 0, W_out = I) the injection is exactly zero, so the
// transplanted model's loss at step 0 equals the same weights under the plain window, bit for bit.

import { describe, expect, it } from 'vitest';
import { headDim, type ModelConfig } from '../../../src/gpu/model/config.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { TransplantError, transplantParameters } from '../../../src/gpu/model/transplant.ts';
import { transplantBatch, transplantConfig } from '../../harness/transplant.ts';

describe('transplanting base weights into another variant', () => {
  const global = transplantConfig('global');
  // Trained-looking weights: the seeded init of another seed, so nothing is at its default.
  const source = initialParameters(global, 99);

  it('copies every base tensor by name and initialises the adapter fresh', () => {
    const target = transplantConfig('window+rosa');
    const params = transplantParameters(source, target, 1);
    for (const [name, data] of source) expect(params.get(name), name).toEqual(data);
    const fresh = initialParameters(target, 1);
    for (const name of ['layers.0.rosa.wq', 'layers.1.rosa.wout', 'layers.1.rosa.e1']) {
      expect(params.get(name), name).toEqual(fresh.get(name));
    }
  });

  it('gives the window+rosa model the plain window loss at step 0, exactly (CPU backend)', async () => {
    const B = 2;
    const T = 20;
    const { tokens, labels } = transplantBatch(B, T, global.vocabSize);
    const loss = async (config: ModelConfig) => {
      const model = new Model(new CpuBackend(), config, transplantParameters(source, config, 1));
      const r = await model.forward(tokens, labels, B, T, inlineScanner(), false);
      model.dispose();
      return r.loss.meanLoss;
    };
    const window = await loss(transplantConfig('window'));
    const rosa = await loss(transplantConfig('window+rosa'));
    const globalLoss = await loss(global);
    expect(rosa).toBe(window);
    // The window does change what the model computes (else the test would prove nothing).
    expect(Math.abs(window - globalLoss)).toBeGreaterThan(1e-4);
  });

  it('evaluates global weights under LagKV selection, also when no chunk is old enough to score', async () => {
    const B = 2;
    const T = 20;
    const { tokens, labels } = transplantBatch(B, T, global.vocabSize);
    for (const chunk of [4, 32]) {
      const config = transplantConfig('lrsa', { lrsa: { sink: 1, chunk, ratio: 0.5, scoreVRatio: 1 } });
      const model = new Model(new CpuBackend(), config, transplantParameters(source, config, 1));
      const r = await model.forward(tokens, labels, B, T, inlineScanner(), false);
      model.dispose();
      expect(Number.isFinite(r.loss.meanLoss), `chunk ${chunk}`).toBe(true);
    }
  });

  it('refuses a base model of another shape, naming the tensor', () => {
    expect(() =>
      transplantParameters(source, transplantConfig('window', { width: 32, mlpHidden: 24 }), 1),
    ).toThrow(TransplantError);
    expect(() => transplantParameters(new Map(), transplantConfig('window'), 1)).toThrow(/no tensor "embed"/);
  });

  it('moves weights with a head size ≠ width / heads, and refuses them under another head size', () => {
    const wide = transplantConfig('global', { headDim: 2 * headDim(global) });
    const trained = initialParameters(wide, 98);
    const params = transplantParameters(
      trained,
      { ...transplantConfig('window+rosa'), headDim: wide.headDim },
      1,
    );
    expect(params.get('layers.1.attn.wo')).toEqual(trained.get('layers.1.attn.wo'));
    expect(() => transplantParameters(trained, transplantConfig('window+rosa'), 1)).toThrow(
      /tensor "layers\.0\.attn\.wq" has \d+ values .* same layers, width, heads, head size/,
    );
  });
});
