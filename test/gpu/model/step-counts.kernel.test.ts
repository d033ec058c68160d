import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import { defaultModelConfig, rosaLayers, type Variant } from '../../../src/gpu/model/config.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { GpuBackend } from '../../../src/gpu/model/gpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { testGpu } from '../../harness/gpu.ts';

// What one training step asks of the GPU, as the run loop records it (run.ts trainStep):
// one submit and one sync point (plus one per ROSA layer), one clear for every parameter
// gradient, no new bind groups once warm, and an optimizer of a few dispatches per group
// rather than per tensor.

const HYPER = { beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 1, weightDecay: 0.1 };

function setup(variant: Variant) {
  const config = defaultModelConfig({
    vocabSize: 13,
    seqLen: 16,
    layers: 2,
    width: 16,
    heads: 2,
    mlpHidden: 24,
    window: 4,
    globalLayers: [],
    variant,
  });
  const r = rng(3);
  const tokens = Int32Array.from({ length: 2 * config.seqLen }, () => Math.floor(r() * config.vocabSize));
  const labels = Int32Array.from({ length: 2 * config.seqLen }, () => Math.floor(r() * config.vocabSize));
  return { config, tokens, labels, init: initialParameters(config, 4) };
}

describe('GPU work per training step', () => {
  for (const variant of ['window', 'window+rosa'] as const) {
    it(variant, async () => {
      const ctx = await testGpu();
      const { config, tokens, labels, init } = setup(variant);
      const backend = new GpuBackend(ctx);
      const model = new Model(backend, config, init);
      const T = config.seqLen;
      const step = async (n: number) => {
        await model.forward(tokens, labels, 2, T, inlineScanner(), true, { deferLoss: true });
        model.backward();
        model.optimizerStep({ base: 1e-2, rosa: 1e-2 }, HYPER, n);
        return model.readStepStats();
      };
      await step(1); // sizes scratch buffers (and so submits at other places)
      await step(2);
      ctx.counters.reset();
      const stats = await step(3);
      const counts = ctx.counters.snapshot();
      const rosa = rosaLayers(config).length;
      expect(counts.syncPoints).toBe(1 + rosa);
      expect(counts.submits).toBe(1 + 2 * rosa);
      // Issue 13's budget for a 2-layer window step: ≤ 70 dispatches (99 before q/k/v, w1/w3
      // and RoPE were batched, RMSNorm's backward, attention's delta and the residual adds fused: 60).
      if (variant === 'window') expect(counts.dispatches).toBeLessThanOrEqual(70);
      // The same dispatches as the step before: every bind group comes from the cache.
      expect(counts.bindGroups).toBe(0);
      // One clear for every parameter gradient (and ROSA's gradK per ROSA layer).
      expect(counts.bufferClears).toBe(1 + rosa);

      // The optimizer alone: one norm partial over every gradient (one range of the storage),
      // one norm finish, and per group an update.
      backend.flush();
      ctx.counters.reset();
      model.optimizerStep({ base: 1e-2, rosa: 1e-2 }, HYPER, 4);
      backend.flush();
      const groups = new Set([...model.params.values()].map((s) => `${s.spec.group}:${s.spec.decay}`)).size;
      expect(ctx.counters.dispatches).toBe(groups + 2);

      // The loss and norm read together agree with the CPU step.
      const cpu = new Model(new CpuBackend(), config, init);
      for (const n of [1, 2, 3]) {
        await cpu.forward(tokens, labels, 2, T, inlineScanner(), true);
        cpu.backward();
        cpu.optimizerStep({ base: 1e-2, rosa: 1e-2 }, HYPER, n);
      }
      const want = await cpu.readStepStats();
      expect(Math.abs(stats.loss.meanLoss - want.loss.meanLoss) / want.loss.meanLoss).toBeLessThan(1e-4);
      expect(Math.abs(stats.gradNorm - want.gradNorm) / want.gradNorm).toBeLessThan(1e-3);
      model.dispose();
      backend.dispose();
    });
  }
});
