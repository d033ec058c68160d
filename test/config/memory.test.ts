import { describe, expect, it } from 'vitest';
import { cpuMemoryBudget, estimateRunMemory, GiB, gpuMemoryBudget } from '../../src/config/memory.ts';
import type { RunSpec } from '../../src/config/schema.ts';
import { checkRunSpec } from '../../src/config/validate.ts';
import { defaultModelConfig, type ModelOverrides, type Variant } from '../../src/gpu/model/config.ts';
import { CpuBackend } from '../../src/gpu/model/cpu-backend.ts';
import { Model } from '../../src/gpu/model/model.ts';
import { initialParameters } from '../../src/gpu/model/params.ts';
import { inlineScanner } from '../../src/gpu/model/scanners.ts';
import { checkSpecFor } from '../../src/gpu/train/factory.ts';
import { tinyNiahSpec } from '../harness/engine.ts';

const defaultRunSpec = ({ backend }: { backend: 'cpu' | 'webgpu' }): RunSpec => ({
  ...tinyNiahSpec('memory'),
  backend,
});

/** Bytes the CPU backend holds after one full training step (forward, backward, AdamW). */
async function measuredStepBytes(overrides: ModelOverrides, B: number, microBatches = 1): Promise<number> {
  const config = defaultModelConfig({
    vocabSize: 13,
    seqLen: 24,
    layers: 3,
    width: 16,
    heads: 2,
    mlpHidden: 24,
    window: 6,
    globalLayers: [0],
    rosa: { bits: 4 },
    lrsa: { sink: 1, chunk: 4, ratio: 0.5 },
    ...overrides,
  });
  const backend = new CpuBackend();
  const model = new Model(backend, config, initialParameters(config, 3));
  const N = B * config.seqLen;
  const tokens = Int32Array.from({ length: N }, (_, i) => (i * 7) % config.vocabSize);
  await model.forward(tokens, tokens, B, config.seqLen, inlineScanner(), true, { microBatches });
  model.backward();
  model.optimizerStep(
    { base: 1e-3, rosa: 1e-3 },
    { beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 1, weightDecay: 0 },
    1,
  );
  const bytes = backend.allocatedBytes();
  const estimate = estimateRunMemory(config, B, 'cpu').total;
  model.dispose();
  return estimate / bytes;
}

describe('total memory estimate', () => {
  const cases: Array<[string, ModelOverrides]> = [
    ['global', { variant: 'global' }],
    ['window', { variant: 'window' }],
    ['window+rosa', { variant: 'window+rosa' }],
    ['lrsa', { variant: 'lrsa' }],
    ['lrsa+rosa, grouped q/k norm', { variant: 'lrsa+rosa', heads: 4, kvHeads: 2, qkNorm: true }],
    ['window+rosa, 8 bits, lm_head', { variant: 'window+rosa', rosa: { bits: 8 }, tiedHead: false }],
    // heads · headDim ≠ width: q, k, v and o at that width, with their own scratch and gradients.
    ['window, heads of 6 (heads·D = 24 ≠ C)', { variant: 'window', heads: 4, kvHeads: 2, headDim: 6 }],
    ['lrsa+rosa, heads of 2, q/k norm', { variant: 'lrsa+rosa', heads: 2, headDim: 2, qkNorm: true }],
    // Qwen2/Qwen3's vocabulary: logits, their gradient and the table dominate.
    ['window, a 151,936-word vocabulary', { variant: 'window', vocabSize: 151_936 }],
  ];
  for (const [name, overrides] of cases) {
    it(`matches the CPU backend's allocated bytes after a step: ${name}`, async () => {
      // Exact: the estimate counts every buffer the model and the CPU backend allocate.
      expect(await measuredStepBytes(overrides as { variant: Variant }, 2)).toBe(1);
    });
  }

  it("holds for a batch in micro-batches: the parts' buffers add up to the whole batch's", async () => {
    expect(await measuredStepBytes({ variant: 'window+rosa' }, 4, 2)).toBe(1);
  });

  it('grows with layers, batch and sequence, and adds device scratch on WebGPU', () => {
    const m = defaultModelConfig({ layers: 2, width: 64, seqLen: 128, variant: 'window+rosa' });
    const base = estimateRunMemory(m, 4, 'cpu').total;
    expect(estimateRunMemory({ ...m, layers: 4 }, 4, 'cpu').total).toBeGreaterThan(1.5 * base);
    expect(estimateRunMemory(m, 8, 'cpu').total).toBeGreaterThan(1.5 * base);
    expect(estimateRunMemory(m, 4, 'webgpu').total).toBeGreaterThan(base);
  });

  it('puts 64 layers of width 1024 at tens of GiB', () => {
    const m = defaultModelConfig({ layers: 64, width: 1024, heads: 16, seqLen: 256, variant: 'window+rosa' });
    const e = estimateRunMemory(m, 8, 'webgpu');
    expect(e.total).toBeGreaterThan(20 * GiB);
    expect(e.parameters).toBe(4 * (e.optimizer / 12));
  });
});

describe('the memory limit in the run check', () => {
  const big = (backend: 'cpu' | 'webgpu'): RunSpec => {
    const spec = defaultRunSpec({ backend });
    return {
      ...spec,
      task: { ...spec.task, seqLen: 256 },
      model: {
        ...spec.model,
        ...defaultModelConfig({ layers: 64, width: 1024, heads: 16, seqLen: 256, vocabSize: 97 }),
      },
      train: { ...spec.train, batchSize: 8 },
    };
  };
  // Buffers big enough for the largest single tensor, so only the total can refuse it.
  const limits = { maxBufferSize: 2 * GiB, maxStorageBufferBindingSize: 2 * GiB };

  it('refuses 64 layers × width 1024 on WebGPU, naming the estimate and the limit', () => {
    const { errors } = checkRunSpec(big('webgpu'), { limits });
    const e = errors.find((x) => x.field === 'model');
    expect(e?.message).toMatch(/needs about [\d.]+ GiB in all .* more than the limit of 16\.0 GiB/);
    expect(e?.message).toContain('largest buffer');
  });

  it('refuses it on the CPU backend against the host memory', () => {
    const { errors } = checkRunSpec(big('cpu'), { hostMemory: 16 * GiB });
    expect(errors.find((x) => x.field === 'model')?.message).toMatch(
      /needs about [\d.]+ GiB in all .* more than the limit of 8\.0 GiB \(half of this machine's 16\.0 GiB\) on cpu/,
    );
  });

  it('accepts the default run and honours a configured device budget', () => {
    expect(checkRunSpec(defaultRunSpec({ backend: 'cpu' }), { hostMemory: 1 * GiB }).errors).toEqual([]);
    expect(checkRunSpec(defaultRunSpec({ backend: 'webgpu' }), { limits }).errors).toEqual([]);
    const tight = { ...limits, memoryBudget: 2 ** 10 };
    expect(
      checkRunSpec(defaultRunSpec({ backend: 'webgpu' }), { limits: tight }).errors[0]?.message,
    ).toContain('configured device memory budget');
  });

  it('the engine refuses a CPU run over the host memory it was given (the CLI passes os.totalmem())', () => {
    const spec = defaultRunSpec({ backend: 'cpu' });
    expect(checkSpecFor(spec, { gpu: null, hostMemory: 64 * GiB })).toEqual([]);
    const [e] = checkSpecFor(spec, { gpu: null, hostMemory: 2 ** 16 });
    expect(e.field).toBe('model');
    expect(e.message).toMatch(
      /needs about [\d.]+ [KM]iB in all .* more than the limit of 32 KiB \(half of this machine's 64 KiB\) on cpu/,
    );
  });

  it('derives the budgets as stated', () => {
    expect(cpuMemoryBudget(32 * GiB).bytes).toBe(16 * GiB);
    expect(cpuMemoryBudget(null).bytes).toBe(4 * GiB);
    expect(gpuMemoryBudget(limits).bytes).toBe(16 * GiB);
  });
});

describe('vocabularies of Qwen2/Qwen3 size (151,936)', () => {
  // Heads of 64 as in Qwen2-0.5B (width 896, 14 heads).
  const qwen = (backend: 'cpu' | 'webgpu', vocabSize: number, width = 64): RunSpec => {
    const spec = defaultRunSpec({ backend });
    return { ...spec, model: { ...spec.model, vocabSize, width, heads: width / 64 } };
  };

  it('accepts 151,936 and 262,144, refuses 262,145 naming model.vocabSize and the limit', () => {
    expect(checkRunSpec(qwen('cpu', 151_936), { hostMemory: 64 * GiB }).errors).toEqual([]);
    expect(checkRunSpec(qwen('cpu', 262_144), { hostMemory: 64 * GiB }).errors).toEqual([]);
    const [e] = checkRunSpec(qwen('cpu', 262_145), { hostMemory: 64 * GiB }).errors;
    expect(e.field).toBe('model.vocabSize');
    expect(e.message).toMatch(/from 2 to 262144/);
  });

  it('names the vocabulary when the embedding table alone is over the storage buffer limit', () => {
    const small = { maxBufferSize: 128 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };
    const { errors } = checkRunSpec(qwen('webgpu', 151_936, 896), { limits: small });
    expect(errors.map((e) => e.field)).toEqual(['model.vocabSize']);
    expect(errors[0].message).toBe(
      'a 151936 × 896 embedding table needs 519 MiB but this device allows 128 MiB per storage buffer',
    );
    const roomy = { maxBufferSize: 2 * GiB, maxStorageBufferBindingSize: 2 * GiB };
    expect(checkRunSpec(qwen('webgpu', 151_936, 896), { limits: roomy }).errors).toEqual([]);
  });
});
