// A quick end-to-end check of a device: run the matmul kernel in its three forms on an
// awkward shape and compare with the CPU twin. The first page shows the result.

import { runBatch } from './batch.ts';
import type { GpuContext } from './context.ts';
import { matmul } from './ops/matmul.ts';
import { randomArray } from './random.ts';
import { matmulReference } from './reference/matmul.ts';
import { createTensor, destroyTensors, readTensor } from './tensor.ts';

export interface MatmulCheck {
  form: 'A·B' | 'Aᵀ·B' | 'A·Bᵀ';
  M: number;
  N: number;
  K: number;
  maxAbsError: number;
  ok: boolean;
  gpuMs: number;
}

const TOLERANCE = 1e-4;

export async function checkMatmul(ctx: GpuContext, M = 130, N = 64, K = 33): Promise<MatmulCheck[]> {
  const results: MatmulCheck[] = [];
  const forms = [
    ['A·B', false, false],
    ['Aᵀ·B', true, false],
    ['A·Bᵀ', false, true],
  ] as const;
  for (const [form, transA, transB] of forms) {
    const a = randomArray(M * K, 1);
    const b = randomArray(K * N, 2);
    const ta = createTensor(ctx, [M * K], 'f32', 'check A', a);
    const tb = createTensor(ctx, [K * N], 'f32', 'check B', b);
    const tc = createTensor(ctx, [M * N], 'f32', 'check C');
    const t0 = performance.now();
    await runBatch(ctx, `check ${form}`, (batch) => matmul(batch, ta, tb, tc, { M, N, K, transA, transB }));
    const gpuMs = performance.now() - t0;
    const got = await readTensor(ctx, tc);
    destroyTensors(ta, tb, tc);
    const want = matmulReference(a, b, { M, N, K, transA, transB });
    let maxAbsError = 0;
    for (let i = 0; i < want.length; i++) maxAbsError = Math.max(maxAbsError, Math.abs(got[i] - want[i]));
    results.push({ form, M, N, K, maxAbsError, ok: maxAbsError <= TOLERANCE, gpuMs });
  }
  return results;
}
