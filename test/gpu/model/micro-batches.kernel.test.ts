import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import type { Sized } from '../../../src/gpu/model/backend.ts';
import { defaultModelConfig, rosaLayers } from '../../../src/gpu/model/config.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { GpuBackend } from '../../../src/gpu/model/gpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { testGpu } from '../../harness/gpu.ts';

// A window + ROSA training step split into micro-batches on the GPU: the parts' symbol reads are
// in flight together (each part has its own read-back buffer), the loss is read once for all
// parts, and the step matches the CPU backend's whole-batch step.

const HYPER = { beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 1, weightDecay: 0.1 };
const B = 4;

describe('micro-batches on the GPU', () => {
  it('window+rosa: 2 parts step as the whole batch does, with one sync point per part and ROSA layer plus one', async () => {
    const ctx = await testGpu();
    const config = defaultModelConfig({
      vocabSize: 13,
      seqLen: 16,
      layers: 2,
      width: 16,
      heads: 2,
      mlpHidden: 24,
      window: 4,
      variant: 'window+rosa',
    });
    const T = config.seqLen;
    const r = rng(8);
    const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * config.vocabSize));
    const labels = Int32Array.from({ length: B * T }, (_, i) =>
      i < T ? -1 : Math.floor(r() * config.vocabSize),
    );
    const init = initialParameters(config, 6);
    const backend = new GpuBackend(ctx);
    const gpu = new Model(backend, config, init);
    const cpu = new Model(new CpuBackend(), config, init);
    async function step<F extends Sized, I extends Sized>(model: Model<F, I>, n: number, parts: number) {
      await model.forward(tokens, labels, B, T, inlineScanner(), true, {
        deferLoss: true,
        microBatches: parts,
      });
      model.backward();
      model.optimizerStep({ base: 1e-2, rosa: 1e-2 }, HYPER, n);
      return model.readStepStats();
    }
    await step(gpu, 1, 2);
    ctx.counters.reset();
    const got = await step(gpu, 2, 2);
    const counts = ctx.counters.snapshot();
    expect(counts.syncPoints).toBe(1 + 2 * rosaLayers(config).length);

    for (const n of [1, 2]) await step(cpu, n, 1);
    const want = await cpu.readStepStats();
    expect(got.loss.count).toBe(want.loss.count);
    expect(Math.abs(got.loss.meanLoss - want.loss.meanLoss) / want.loss.meanLoss).toBeLessThan(1e-4);
    expect(Math.abs(got.gradNorm - want.gradNorm) / want.gradNorm).toBeLessThan(1e-3);
    const [gpuParams, cpuParams] = await Promise.all([gpu.exportParameters(), cpu.exportParameters()]);
    let worst = 0;
    for (const [name, w] of cpuParams) {
      const g = gpuParams.get(name)!;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i] - w[i]));
    }
    // Two AdamW steps of rate 1e-2 move a weight by at most 2e-2; the paths agree far closer.
    expect(worst).toBeLessThan(1e-4);
    gpu.dispose();
    backend.dispose();
  });
});
