import { describe, expect, it, vi } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import { matmulUsesSimd } from '../../../src/gpu/cpu/matmul.ts';
import { MatmulThreads } from '../../../src/gpu/cpu/matmul-threads.ts';
import { ATTENTION_BACKWARD, ATTENTION_FORWARD } from '../../../src/gpu/cpu/matmul-threads-control.ts';
import { defaultModelConfig } from '../../../src/gpu/model/config.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';

// The CPU backend on two threads against one: two training steps of a model whose linear layers
// are large enough to be split (512 rows × 64 × 64), and whose attention goes by (batch, head)
// over the threads, end with the same weights, bit for bit.

async function train(threads: number): Promise<Map<string, Float32Array>> {
  const config = defaultModelConfig({
    vocabSize: 31,
    seqLen: 64,
    layers: 1,
    width: 64,
    heads: 2,
    mlpHidden: 128,
    window: 16,
    variant: 'window',
    globalLayers: [],
  });
  const backend = new CpuBackend({ threads });
  expect(backend.threading.used).toBe(threads);
  await backend.ready();
  const model = new Model(backend, config, initialParameters(config, 5));
  const r = rng(3);
  const B = 8;
  const tokens = Int32Array.from({ length: B * config.seqLen }, () => Math.floor(r() * 31));
  for (let step = 1; step <= 2; step++) {
    await model.forward(tokens, tokens, B, config.seqLen, inlineScanner(), true);
    model.backward();
    model.optimizerStep(
      { base: 1e-2, rosa: 1e-2 },
      { beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 1, weightDecay: 0.01 },
      step,
    );
  }
  const weights = await model.exportParameters();
  model.dispose();
  backend.dispose();
  return weights;
}

describe.runIf(matmulUsesSimd)('CPU backend on threads', () => {
  it('trains to the same bits on two threads as on one', async () => {
    const one = await train(1);
    // Only calls large enough to split reach run(): some must have.
    const split = vi.spyOn(MatmulThreads.prototype, 'run');
    const attention = vi.spyOn(MatmulThreads.prototype, 'runAttention');
    const two = await train(2);
    expect(split.mock.calls.length).toBeGreaterThan(0);
    // Attention went over the threads too, forward and backward.
    expect(new Set(attention.mock.calls.map((c) => c[0]))).toEqual(
      new Set([ATTENTION_FORWARD, ATTENTION_BACKWARD]),
    );
    split.mockRestore();
    attention.mockRestore();
    expect([...two.keys()]).toEqual([...one.keys()]);
    for (const [name, w] of one) expect(Array.from(two.get(name)!), name).toEqual(Array.from(w));
    // And the steps changed the weights (the comparison is not of two initial states).
    const init = initialParameters(
      defaultModelConfig({
        vocabSize: 31,
        seqLen: 64,
        layers: 1,
        width: 64,
        heads: 2,
        mlpHidden: 128,
        window: 16,
        variant: 'window',
        globalLayers: [],
      }),
      5,
    );
    const wq = [...one.keys()].find((n) => n.endsWith('wq'))!;
    expect(Array.from(one.get(wq)!)).not.toEqual(Array.from(init.get(wq)!));
  });

  it('shares one set of threads between backends, stopped when the last lets go', () => {
    const stop = vi.spyOn(MatmulThreads.prototype, 'dispose');
    const a = new CpuBackend({ threads: 3 });
    const b = new CpuBackend({ threads: 3 });
    a.dispose();
    a.dispose();
    expect(stop).not.toHaveBeenCalled();
    b.dispose();
    expect(stop).toHaveBeenCalledTimes(1);
    stop.mockRestore();
  });

  it('runs one thread, and says why, where memory cannot be shared', () => {
    const g = globalThis as { crossOriginIsolated?: boolean };
    g.crossOriginIsolated = false;
    try {
      const backend = new CpuBackend({ threads: 4 });
      expect(backend.threading.requested).toBe(4);
      expect(backend.threading.used).toBe(1);
      expect(backend.threading.note).toMatch(/not cross-origin isolated/);
    } finally {
      delete g.crossOriginIsolated;
    }
  });
});
