import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import { defaultModelConfig } from '../../src/gpu/model/config.ts';
import { inlineScanner } from '../../src/gpu/model/scanners.ts';
import { matmul } from '../../src/gpu/ops/matmul.ts';
import { matmulReference } from '../../src/gpu/reference/matmul.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { profileTrainingStep } from '../../src/gpu/train/profile-step.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// SwiftShader offers timestamp-query, so the profile path runs here as it does on a GPU.
// Times on a software adapter mean little; what is checked is that every dispatch is timed
// once under its label and that splitting passes for timing changes no result.

describe('kernel profile (timestamp-query)', () => {
  it('times each dispatch of a batch and leaves its results unchanged', async () => {
    const ctx = await testGpu();
    expect(ctx.canProfile).toBe(true);
    const [M, N, K] = [33, 17, 20];
    const a = randomArray(M * K, 1);
    const b = randomArray(K * N, 2);
    const ta = createTensor(ctx, [M, K], 'f32', 'a', a);
    const tb = createTensor(ctx, [K, N], 'f32', 'b', b);
    const out1 = createTensor(ctx, [M, N], 'f32', 'out1');
    const out2 = createTensor(ctx, [M, N], 'f32', 'out2');
    ctx.counters.reset();
    const profile = await ctx.profile(() =>
      runBatch(ctx, 'profiled', (batch) => {
        matmul(batch, ta, tb, out1, { M, N, K });
        matmul(batch, ta, tb, out2, { M, N, K });
      }),
    );
    expect(profile.dispatches).toBe(ctx.counters.dispatches);
    expect(profile.dispatches).toBe(2);
    expect(profile.kernels).toHaveLength(1); // both dispatches share the matmul's label
    expect(profile.kernels[0].kernel).toMatch(/^matmul 33x17x20/);
    expect(profile.kernels[0].calls).toBe(2);
    expect(profile.totalMs).toBeGreaterThanOrEqual(0);
    expect(ctx.profiler).toBeNull();
    const want = matmulReference(a, b, { M, N, K });
    expectClose(await readTensor(ctx, out1), want, { atol: 1e-5, rtol: 1e-5 }, 'out1');
    expectClose(await readTensor(ctx, out2), want, { atol: 1e-5, rtol: 1e-5 }, 'out2');
    destroyTensors(ta, tb, out1, out2);
  });

  it('refuses a second profile while one is open', async () => {
    const ctx = await testGpu();
    let inner: Promise<unknown> | null = null;
    await ctx.profile(async () => {
      inner = ctx.profile(async () => {}).catch((err: Error) => err.message);
    });
    expect(await inner).toMatch(/already being taken/);
  });

  it('profiles a whole training step: every dispatch counted, the kernels named', async () => {
    const ctx = await testGpu();
    const config = defaultModelConfig({
      vocabSize: 11,
      seqLen: 12,
      layers: 1,
      width: 16,
      heads: 2,
      mlpHidden: 24,
      window: 4,
      globalLayers: [],
      variant: 'window+rosa',
    });
    const profile = await profileTrainingStep(ctx, config, 2, inlineScanner());
    expect(profile.dispatches).toBeGreaterThan(20);
    expect(profile.kernels.reduce((n, k) => n + k.calls, 0)).toBe(profile.dispatches);
    const names = profile.kernels.map((k) => k.kernel).join('\n');
    expect(names).toMatch(/matmul/);
    expect(names).toMatch(/adamw/i);
    // Slowest first.
    for (let i = 1; i < profile.kernels.length; i++)
      expect(profile.kernels[i - 1].totalMs).toBeGreaterThanOrEqual(profile.kernels[i].totalMs);
  });
});
