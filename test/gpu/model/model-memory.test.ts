import { describe, expect, it } from 'vitest';
import { defaultModelConfig } from '../../../src/gpu/model/config.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters, parameterCount } from '../../../src/gpu/model/params.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';

describe('model memory accounting', () => {
  it('counts parameters, optimizer state, activations and scan outputs, and returns to zero', async () => {
    const config = defaultModelConfig({
      vocabSize: 13,
      seqLen: 16,
      layers: 2,
      width: 16,
      heads: 2,
      mlpHidden: 16,
      variant: 'window+rosa',
    });
    const backend = new CpuBackend();
    const model = new Model(backend, config, initialParameters(config, 1));
    // param, grad, m, v: four f32 copies of every parameter.
    expect(backend.allocatedBytes()).toBe(4 * 4 * parameterCount(config));
    const tokens = new Int32Array(32).fill(1);
    await model.forward(tokens, tokens, 2, 16, inlineScanner(), true);
    const withActivations = backend.allocatedBytes();
    expect(withActivations).toBeGreaterThan(4 * 4 * parameterCount(config));
    await model.forward(tokens, tokens, 2, 16, inlineScanner(), true);
    expect(backend.allocatedBytes()).toBe(withActivations); // reused, not reallocated
    model.dispose();
    expect(backend.allocatedBytes()).toBe(0);
  });

  it('frees the attention-width buffers of a head size ≠ width / heads, across shapes and steps', async () => {
    // q and the attention output 2 · 12 = 24 wide at width 16: their scratch and gradients are extra.
    const config = defaultModelConfig({
      vocabSize: 13,
      seqLen: 16,
      layers: 2,
      width: 16,
      heads: 2,
      headDim: 12,
      kvHeads: 1,
      mlpHidden: 16,
      variant: 'window+rosa',
    });
    const backend = new CpuBackend();
    const model = new Model(backend, config, initialParameters(config, 1));
    expect(backend.allocatedBytes()).toBe(4 * 4 * parameterCount(config));
    const tokens = new Int32Array(32).fill(1);
    await model.forward(tokens, tokens, 2, 16, inlineScanner(), true);
    model.backward();
    const withActivations = backend.allocatedBytes();
    await model.forward(tokens.subarray(0, 16), tokens.subarray(0, 16), 1, 16, inlineScanner(), true);
    model.backward();
    expect(backend.allocatedBytes()).toBeLessThan(withActivations);
    model.dispose();
    expect(backend.allocatedBytes()).toBe(0);
  });
});
