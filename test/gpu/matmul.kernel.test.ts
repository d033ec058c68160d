import { afterAll, describe, expect, it } from 'vitest';
import { type CommandBatch, runBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { matmul } from '../../src/gpu/ops/matmul.ts';
import { matmulBatchSumReference, matmulReference } from '../../src/gpu/reference/matmul.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// f32 sums of K products in a different order than the twin: error grows like K·ε·|a||b|.
// With inputs in [-1, 1] and K ≤ 130, 1e-5 absolute + 1e-4 relative is ~10× above what we see.
const TOL = { atol: 1e-5, rtol: 1e-4 };

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [7, 13, 5],
  [130, 64, 33],
  [64, 64, 64],
  [128, 64, 16],
  [3, 65, 129],
  // K and N multiples of 4 take the vec4-load path (A·B); partial tiles in every direction.
  [7, 12, 8],
  [130, 68, 36],
];

let ctx: GpuContext;

async function runMatmul(
  M: number,
  N: number,
  K: number,
  opts: { transA?: boolean; transB?: boolean; batch?: number; accumulate?: boolean; alpha?: number },
  seed: number,
): Promise<{ got: Float32Array; want: Float32Array }> {
  const count = opts.batch ?? 1;
  const a = randomArray(count * M * K, seed);
  const b = randomArray(count * K * N, seed + 1);
  const c0 = randomArray(count * M * N, seed + 2);
  const ta = createTensor(ctx, [count * M * K], 'f32', 'A', a);
  const tb = createTensor(ctx, [count * K * N], 'f32', 'B', b);
  const tc = createTensor(ctx, [count * M * N], 'f32', 'C', c0);
  await runBatch(ctx, 'matmul test', (batch: CommandBatch) =>
    matmul(batch, ta, tb, tc, { M, N, K, ...opts, batch: count }),
  );
  const got = await readTensor(ctx, tc);
  destroyTensors(ta, tb, tc);
  const want = matmulReference(
    a,
    b,
    { M, N, K, ...opts, batch: count },
    opts.accumulate ? c0.slice() : undefined,
  );
  return { got, want };
}

describe('matmul kernel vs CPU twin', () => {
  it('gets a WebGPU adapter', async () => {
    ctx = await testGpu();
    expect(ctx.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  for (const [M, N, K] of SHAPES) {
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const name = `${M}x${N}x${K} ${transA ? 'Aᵀ·B' : transB ? 'A·Bᵀ' : 'A·B'}`;
      it(name, async () => {
        ctx = await testGpu();
        const { got, want } = await runMatmul(M, N, K, { transA, transB }, M * 1000 + N * 10 + K);
        expectClose(got, want, TOL, name);
      });
    }
  }

  it('batched with accumulate and alpha', async () => {
    ctx = await testGpu();
    const { got, want } = await runMatmul(9, 70, 17, { batch: 3, accumulate: true, alpha: 0.5 }, 77);
    expectClose(got, want, TOL, 'batched accumulate');
    const v4 = await runMatmul(9, 20, 12, { batch: 3, accumulate: true, alpha: 0.5 }, 78);
    expectClose(v4.got, v4.want, TOL, 'batched accumulate, vec4 loads');
  });

  // SUM_BATCH: the input gradient of linear layers sharing an input (q/k/v, w1/w3) in one
  // dispatch. Same tolerance: a sum over batch × K products, batch · K ≤ 51 here.
  for (const [M, N, K, transB] of [
    [9, 70, 17, false],
    [9, 20, 12, false], // vec4 loads
    [65, 7, 5, true],
  ] as const) {
    it(`summed over a batch of 3: ${M}x${N}x${K}${transB ? ' A·Bᵀ' : ''}, accumulate, alpha`, async () => {
      ctx = await testGpu();
      const count = 3;
      const a = randomArray(count * M * K, 5);
      const b = randomArray(count * K * N, 6);
      const c0 = randomArray(M * N, 7);
      const ta = createTensor(ctx, [a.length], 'f32', 'A', a);
      const tb = createTensor(ctx, [b.length], 'f32', 'B', b);
      const tc = createTensor(ctx, [M * N], 'f32', 'C', c0);
      const shape = { M, N, K, transB, batch: count, alpha: 0.5 };
      await runBatch(ctx, 'matmul sum test', (batch: CommandBatch) =>
        matmul(batch, ta, tb, tc, { ...shape, accumulate: true, sumBatch: true }),
      );
      const got = await readTensor(ctx, tc);
      destroyTensors(ta, tb, tc);
      expectClose(got, matmulBatchSumReference(a, b, shape, c0.slice()), TOL, 'summed');
      // Not just the first batch matrix: the sum differs from it.
      const first = matmulReference(a, b, { M, N, K, transB, alpha: 0.5 }, c0.slice());
      expect(Math.max(...got.map((g, i) => Math.abs(g - first[i])))).toBeGreaterThan(0.01);
    });
  }

  // A linear layer and its residual connection: C = alpha · op(A) · op(B) + R, C's old contents
  // ignored. Same tolerance (one more f32 addition per element).
  for (const [M, N, K, transB, count] of [
    [9, 70, 17, true, 1],
    [9, 20, 12, false, 2], // vec4 loads, batched
    [3, 5, 0, true, 1], // K = 0: C = R
  ] as const) {
    it(`plus a residual: ${M}x${N}x${K}${transB ? ' A·Bᵀ' : ''} ×${count}`, async () => {
      ctx = await testGpu();
      const a = randomArray(count * M * K, 11);
      const b = randomArray(count * K * N, 12);
      const r = randomArray(count * M * N, 13);
      const ta = createTensor(ctx, [Math.max(1, a.length)], 'f32', 'A', a.length ? a : undefined);
      const tb = createTensor(ctx, [Math.max(1, b.length)], 'f32', 'B', b.length ? b : undefined);
      const tr = createTensor(ctx, [r.length], 'f32', 'R', r);
      const tc = createTensor(ctx, [r.length], 'f32', 'C', randomArray(r.length, 14));
      const shape = { M, N, K, transB, batch: count, alpha: 0.5 };
      await runBatch(ctx, 'matmul residual test', (batch: CommandBatch) =>
        matmul(batch, ta, tb, tc, { ...shape, residual: tr }),
      );
      const got = await readTensor(ctx, tc);
      destroyTensors(ta, tb, tc, tr);
      expectClose(got, matmulReference(a, b, shape, r.slice()), TOL, 'residual');
    });
  }

  it('rejects a residual in the same buffer as C, or with accumulate', async () => {
    ctx = await testGpu();
    const t = createTensor(ctx, [16], 'f32', 'same');
    const o = createTensor(ctx, [16], 'f32', 'other');
    await runBatch(ctx, 'matmul residual errors', (batch: CommandBatch) => {
      const shape = { M: 4, N: 4, K: 4 };
      expect(() => matmul(batch, o, o, t, { ...shape, residual: t })).toThrow(/same buffer as C/);
      expect(() => matmul(batch, o, o, t, { ...shape, residual: o, accumulate: true })).toThrow(
        /residual and accumulate/,
      );
    });
    destroyTensors(t, o);
  });

  it('a shared A (stride 0) against B and C matrices with gaps between them', async () => {
    ctx = await testGpu();
    const [M, N, K, count] = [13, 6, 10, 3];
    const [strideB, strideC] = [N * K + 5, M * N + 3];
    const a = randomArray(M * K, 8);
    const b = randomArray(count * strideB, 9);
    const ta = createTensor(ctx, [a.length], 'f32', 'A', a);
    const tb = createTensor(ctx, [b.length], 'f32', 'B', b);
    const tc = createTensor(ctx, [count * strideC], 'f32', 'C', new Float32Array(count * strideC).fill(7));
    await runBatch(ctx, 'matmul stride test', (batch: CommandBatch) =>
      matmul(batch, ta, tb, tc, { M, N, K, transB: true, batch: count, strideA: 0, strideB, strideC }),
    );
    const got = await readTensor(ctx, tc);
    destroyTensors(ta, tb, tc);
    for (let z = 0; z < count; z++) {
      const want = matmulReference(a, b.subarray(z * strideB, z * strideB + N * K), {
        M,
        N,
        K,
        transB: true,
      });
      expectClose(got.subarray(z * strideC, z * strideC + M * N), want, TOL, `matrix ${z}`);
      // The gaps are not written.
      if (z < count - 1) expect([...got.subarray(z * strideC + M * N, (z + 1) * strideC)]).toEqual([7, 7, 7]);
    }
  });

  afterAll(() => {
    // The context is shared per process; nothing to free beyond the tensors each test destroyed.
  });
});
