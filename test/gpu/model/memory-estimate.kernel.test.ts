import { describe, expect, it } from 'vitest';
import { estimateRunMemory } from '../../../src/config/memory.ts';
import { defaultModelConfig, type ModelOverrides } from '../../../src/gpu/model/config.ts';
import { GpuBackend } from '../../../src/gpu/model/gpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { testGpu } from '../../harness/gpu.ts';

// The total memory estimate (src/config/memory.ts) against what the WebGPU backend has allocated
// after one training step of a small model. The estimate also counts the ROSA backward scratch,
// which the backend creates outside its byte count.

describe('total memory estimate on WebGPU', () => {
  const cases: Array<[string, ModelOverrides]> = [
    ['window', { variant: 'window' }],
    ['window+rosa', { variant: 'window+rosa' }],
    ['lrsa+rosa', { variant: 'lrsa+rosa', heads: 4, kvHeads: 2, qkNorm: true }],
  ];
  for (const [name, overrides] of cases) {
    it(`is within 10% of the backend's allocated bytes: ${name}`, async () => {
      const ctx = await testGpu();
      const config = defaultModelConfig({
        vocabSize: 29,
        seqLen: 64,
        layers: 2,
        width: 32,
        heads: 2,
        mlpHidden: 64,
        window: 8,
        globalLayers: [],
        rosa: { bits: 4 },
        lrsa: { sink: 1, chunk: 8, ratio: 0.5 },
        ...overrides,
      });
      const backend = new GpuBackend(ctx);
      const model = new Model(backend, config, initialParameters(config, 1));
      const B = 4;
      const tokens = Int32Array.from({ length: B * config.seqLen }, (_, i) => (i * 5) % config.vocabSize);
      await model.forward(tokens, tokens, B, config.seqLen, inlineScanner(), true, { deferLoss: true });
      model.backward();
      model.optimizerStep(
        { base: 1e-3, rosa: 1e-3 },
        { beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 1, weightDecay: 0 },
        1,
      );
      await model.readStepStats();
      const counted = backend.allocatedBytes();
      const estimate = estimateRunMemory(config, B, 'webgpu').total;
      model.dispose();
      expect(estimate / counted).toBeGreaterThan(0.9);
      expect(estimate / counted).toBeLessThan(1.1);
    });
  }
});
