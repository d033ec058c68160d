// Generation and attention maps on the WebGPU backend (Dawn): the same weights give the CPU
// backend's greedy text and, within float tolerance, its attention probabilities, for a
// windowed+ROSA and an LRSA model (their own attention kernels, q/k/v read back from the GPU).

import { describe, expect, it } from 'vitest';
import type { Variant } from '../../../src/gpu/model/config.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { type AnyRun, createRun } from '../../../src/gpu/train/factory.ts';
import type { RunSpec } from '../../../src/gpu/train/protocol.ts';
import { tinyTextSpec } from '../../harness/engine.ts';
import { expectClose, testGpu } from '../../harness/gpu.ts';

function spec(variant: Variant, backend: 'cpu' | 'webgpu'): RunSpec {
  return tinyTextSpec(`${variant}-${backend}`, variant, { seqLen: 24, steps: 1, backend, lrsaSink: 2 });
}

async function run(variant: Variant, backend: 'cpu' | 'webgpu'): Promise<AnyRun> {
  const gpu = await testGpu();
  const env = { gpu, scanner: inlineScanner(), loadCorpus: async () => '', store: null };
  return createRun(spec(variant, backend), env, () => {});
}

async function greedy(r: AnyRun): Promise<number[]> {
  const s = r.generation({
    runId: r.spec.id,
    prompt: 'the lazy dog; a ',
    length: 12,
    temperature: 0,
    seed: 0,
  });
  while (!s.done) await s.step();
  return s.result().tokens.map((t) => t.id);
}

describe('generation and attention maps on WebGPU', () => {
  for (const variant of ['window+rosa', 'lrsa'] as const) {
    it(`${variant}: the CPU backend's greedy text and attention probabilities`, async () => {
      const cpu = await run(variant, 'cpu');
      const gpu = await run(variant, 'webgpu');
      expect(await greedy(gpu)).toEqual(await greedy(cpu));
      const a = await gpu.attentionMap(2, 0);
      const b = await cpu.attentionMap(2, 0);
      expect(a.T).toBe(24);
      expectClose(a.probs, b.probs, { atol: 1e-4, rtol: 1e-3 });
      gpu.model.dispose();
      cpu.model.dispose();
    });
  }
});
