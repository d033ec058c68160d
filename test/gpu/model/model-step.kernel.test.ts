import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import type { RosaScanner } from '../../../src/gpu/model/backend.ts';
import {
  defaultModelConfig,
  headDim,
  type ModelConfig,
  type ModelOverrides,
  type Variant,
} from '../../../src/gpu/model/config.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { GpuBackend } from '../../../src/gpu/model/gpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner, poolScanner } from '../../../src/gpu/model/scanners.ts';
import type { RosaMode } from '../../../src/rosa-worker/layout.ts';
import { createNodeRosaPool } from '../../../src/rosa-worker/platform/node.ts';
import { expectClose, testGpu } from '../../harness/gpu.ts';

// One training step of the whole model on the WebGPU backend against the same step on the CPU
// backend (the CPU twins), for every variant. Tolerances: the loss to 2e-5 relative (f32 sums in
// a different order over ~10 ops deep); gradients to 2e-4 of each tensor's largest entry; the
// parameters after AdamW (ε = 1e-3 here, so the update is a smooth function of the gradient
// rather than lr·sign(g)) to 1e-6 absolute.

const VARIANTS: Variant[] = ['global', 'window', 'window+rosa', 'lrsa', 'lrsa+rosa'];

function tinyConfig(
  variant: Variant,
  semantics: RosaMode = 'rosa-tuning',
  extra: ModelOverrides = {},
): ModelConfig {
  return defaultModelConfig({
    vocabSize: 13,
    seqLen: 22,
    layers: 2,
    width: 16,
    heads: 2,
    mlpHidden: 24,
    window: 6,
    globalLayers: [],
    variant,
    rosa: { bits: 4, semantics, tempQ: 1, tempK: 1, tempV: 1, vProbContrast: true },
    lrsa: { sink: 1, chunk: 4, ratio: 0.5, scoreVRatio: 1 },
    ...extra,
  });
}

/** The Llama/Qwen options together: 4 query heads on 2 key/value heads, q/k norm, biases, lm_head. */
const QWEN_LIKE: ModelOverrides = { heads: 4, kvHeads: 2, qkNorm: true, attnBias: true, tiedHead: false };

async function stepOn<F extends { length: number }, I extends { length: number }>(
  model: Model<F, I>,
  tokens: Int32Array,
  labels: Int32Array,
  B: number,
  T: number,
  scanner: RosaScanner = inlineScanner(),
) {
  const fwd = await model.forward(tokens, labels, B, T, scanner, true);
  model.backward();
  const entries = [...model.params];
  const gradValues = await model.backend.read(entries.map(([, s]) => s.grad));
  const grads = new Map(entries.map(([name], i) => [name, gradValues[i]]));
  model.optimizerStep(
    { base: 1e-2, rosa: 1e-2 },
    { beta1: 0.9, beta2: 0.98, eps: 1e-3, maxGradNorm: 0, weightDecay: 0.1 },
    1,
  );
  const gradNorm = await model.backend.readGradNorm();
  return { loss: fwd.loss.meanLoss, grads, gradNorm, params: await model.exportParameters() };
}

describe('one training step: WebGPU backend equals the CPU backend', () => {
  for (const variant of VARIANTS) {
    it(variant, async () => {
      const ctx = await testGpu();
      const config = tinyConfig(variant);
      const init = initialParameters(config, 11);
      // Non-zero e0/e1 so that the ROSA counterfactual gradient is exercised from step one.
      const r = rng(5);
      for (const [name, data] of init)
        if (/rosa\.e[01]$/.test(name)) for (let i = 0; i < data.length; i++) data[i] = r() - 0.5;
      const B = 2;
      const T = config.seqLen;
      const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * config.vocabSize));
      const labels = Int32Array.from({ length: B * T }, (_, i) =>
        i % 4 === 0 ? -1 : Math.floor(r() * config.vocabSize),
      );
      const cpu = await stepOn(new Model(new CpuBackend(), config, init), tokens, labels, B, T);
      const gpuBackend = new GpuBackend(ctx);
      const gpu = await stepOn(new Model(gpuBackend, config, init), tokens, labels, B, T);
      expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toBeLessThan(2e-5);
      for (const [name, want] of cpu.grads) {
        const scale = Math.max(1e-6, ...Array.from(want, Math.abs));
        expectClose(gpu.grads.get(name)!, want, { atol: 2e-4 * scale, rtol: 0 }, `${variant} grad ${name}`);
      }
      expect(Math.abs(gpu.gradNorm - cpu.gradNorm) / cpu.gradNorm).toBeLessThan(1e-4);
      for (const [name, want] of cpu.params) {
        expectClose(gpu.params.get(name)!, want, { atol: 1e-6, rtol: 0 }, `${variant} param ${name}`);
      }
      gpuBackend.dispose();
    });
  }

  // The Llama/Qwen options, and with them a head size ≠ width / heads (model.headDim, as in
  // Qwen3-0.6B): q and the attention output 4 · 6 = 24 wide and k/v 12 wide at width 16, or
  // narrower than the width (4 · 2).
  const qwenCases = [
    { variant: 'window', extra: QWEN_LIKE, what: '' },
    { variant: 'lrsa+rosa', extra: QWEN_LIKE, what: '' },
    { variant: 'window', extra: { ...QWEN_LIKE, headDim: 6 }, what: ', head size 6 (q 24 wide at width 16)' },
    { variant: 'lrsa+rosa', extra: { ...QWEN_LIKE, headDim: 2 }, what: ', head size 2 (q 8 wide)' },
  ] as const;
  for (const { variant, extra, what } of qwenCases) {
    it(`${variant} with grouped-query attention, q/k norm, q/k/v biases and an untied head${what}`, async () => {
      const ctx = await testGpu();
      const config = tinyConfig(variant, 'rosa-tuning', extra);
      const init = initialParameters(config, 14);
      // Biases start at 0 and norms at 1: move them so that the forward pass depends on them.
      const r = rng(8);
      for (const [name, data] of init)
        if (/(\.b[qkv]|_norm|rosa\.e[01])$/.test(name))
          for (let i = 0; i < data.length; i++) data[i] += r() - 0.5;
      const B = 2;
      const T = config.seqLen;
      const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * config.vocabSize));
      const labels = Int32Array.from({ length: B * T }, () => Math.floor(r() * config.vocabSize));
      const cpu = await stepOn(new Model(new CpuBackend(), config, init), tokens, labels, B, T);
      const gpuBackend = new GpuBackend(ctx);
      const gpu = await stepOn(new Model(gpuBackend, config, init), tokens, labels, B, T);
      const D = headDim(config);
      expect(D).toBe(extra.headDim ?? 16 / 4);
      expect(cpu.grads.get('layers.0.attn.wk')!.length).toBe(2 * D * 16); // [kvHeads · D, C]
      expect(cpu.grads.get('layers.0.attn.wo')!.length).toBe(16 * 4 * D); // [C, heads · D]
      expect(cpu.grads.has('lm_head')).toBe(true);
      expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toBeLessThan(2e-5);
      for (const [name, want] of cpu.grads) {
        const scale = Math.max(1e-6, ...Array.from(want, Math.abs));
        expectClose(gpu.grads.get(name)!, want, { atol: 2e-4 * scale, rtol: 0 }, `${variant} grad ${name}`);
      }
      for (const [name, want] of cpu.params) {
        expectClose(gpu.params.get(name)!, want, { atol: 1e-6, rtol: 0 }, `${variant} param ${name}`);
      }
      gpuBackend.dispose();
    });
  }

  it('window+rosa with the ROSA worker pool scanning in shared memory', async () => {
    const ctx = await testGpu();
    const config = tinyConfig('window+rosa');
    const init = initialParameters(config, 13);
    const r = rng(7);
    for (const [name, data] of init)
      if (/rosa\.e[01]$/.test(name)) for (let i = 0; i < data.length; i++) data[i] = r() - 0.5;
    const T = config.seqLen;
    const tokens = Int32Array.from({ length: 2 * T }, () => Math.floor(r() * config.vocabSize));
    const labels = Int32Array.from({ length: 2 * T }, () => Math.floor(r() * config.vocabSize));
    const pool = poolScanner(createNodeRosaPool({ size: 2 }));
    try {
      expect(pool.sharedMemory).toBe(true);
      const cpu = await stepOn(new Model(new CpuBackend(), config, init), tokens, labels, 2, T);
      const gpu = await stepOn(new Model(new GpuBackend(ctx), config, init), tokens, labels, 2, T, pool);
      expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toBeLessThan(2e-5);
      for (const [name, want] of cpu.params) {
        expectClose(gpu.params.get(name)!, want, { atol: 1e-6, rtol: 0 }, `pool param ${name}`);
      }
    } finally {
      await pool.terminate?.();
    }
  });

  it('window+rosa with exact and rwkv8 semantics', async () => {
    const ctx = await testGpu();
    for (const semantics of ['exact', 'rwkv8'] as const) {
      const config = tinyConfig('window+rosa', semantics);
      const init = initialParameters(config, 12);
      const r = rng(6);
      for (const [name, data] of init)
        if (/rosa\.e[01]$/.test(name)) for (let i = 0; i < data.length; i++) data[i] = r() - 0.5;
      const T = config.seqLen;
      const tokens = Int32Array.from({ length: T }, () => Math.floor(r() * config.vocabSize));
      const labels = Int32Array.from({ length: T }, () => Math.floor(r() * config.vocabSize));
      const cpu = await stepOn(new Model(new CpuBackend(), config, init), tokens, labels, 1, T);
      const gpu = await stepOn(new Model(new GpuBackend(ctx), config, init), tokens, labels, 1, T);
      expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toBeLessThan(2e-5);
      for (const [name, want] of cpu.params) {
        expectClose(gpu.params.get(name)!, want, { atol: 1e-6, rtol: 0 }, `${semantics} param ${name}`);
      }
    }
  });

  // As on a hardware GPU: weight gradients over 512 rows split into K slices (split-K), for the
  // batched q/k/v and w1/w3 groups (window+rosa) and for separate projections (the Qwen options).
  for (const { variant, extra } of [
    { variant: 'window+rosa', extra: {} },
    { variant: 'window', extra: QWEN_LIKE },
  ] as const) {
    it(`${variant}${extra === QWEN_LIKE ? ' (Qwen options)' : ''} with split-K weight gradients`, async () => {
      const ctx = await testGpu();
      const config = tinyConfig(variant, 'rosa-tuning', { ...extra, seqLen: 128, window: 8 });
      const init = initialParameters(config, 14);
      const r = rng(9);
      for (const [name, data] of init)
        if (/rosa\.e[01]$/.test(name)) for (let i = 0; i < data.length; i++) data[i] = r() - 0.5;
      const B = 4;
      const T = config.seqLen;
      const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * config.vocabSize));
      const labels = Int32Array.from({ length: B * T }, () => Math.floor(r() * config.vocabSize));
      const cpu = await stepOn(new Model(new CpuBackend(), config, init), tokens, labels, B, T);
      const gpuBackend = new GpuBackend(ctx, { splitKTarget: 512 });
      const gpu = await stepOn(new Model(gpuBackend, config, init), tokens, labels, B, T);
      expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toBeLessThan(2e-5);
      for (const [name, want] of cpu.grads) {
        const scale = Math.max(1e-6, ...Array.from(want, Math.abs));
        expectClose(gpu.grads.get(name)!, want, { atol: 2e-4 * scale, rtol: 0 }, `split-K grad ${name}`);
      }
      gpuBackend.dispose();
    });
  }
});
