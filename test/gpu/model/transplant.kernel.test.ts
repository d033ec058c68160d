// The transplant's step-0 equality on the WebGPU backend: global weights in a window+rosa model
// with the paper's adapter initialisation give the plain window loss exactly (the injection is
// an exact zero on the GPU too).

import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../src/gpu/model/config.ts';
import { GpuBackend } from '../../../src/gpu/model/gpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { transplantParameters } from '../../../src/gpu/model/transplant.ts';
import { testGpu } from '../../harness/gpu.ts';
import { transplantBatch, transplantConfig } from '../../harness/transplant.ts';

describe('transplant on WebGPU', () => {
  it('gives the window+rosa model the plain window loss at step 0, exactly', async () => {
    const ctx = await testGpu();
    const global = transplantConfig('global');
    const source = initialParameters(global, 99);
    const B = 2;
    const T = 20;
    const { tokens, labels } = transplantBatch(B, T, global.vocabSize);
    const loss = async (config: ModelConfig) => {
      const backend = new GpuBackend(ctx);
      const model = new Model(backend, config, transplantParameters(source, config, 1));
      const r = await model.forward(tokens, labels, B, T, inlineScanner(), false);
      backend.dispose();
      return r.loss.meanLoss;
    };
    const window = await loss(transplantConfig('window'));
    expect(await loss(transplantConfig('window+rosa'))).toBe(window);
    expect(Math.abs(window - (await loss(global)))).toBeGreaterThan(1e-4);
  });
});
