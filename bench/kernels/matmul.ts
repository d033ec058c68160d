// Matmul throughput, ours side by side with @tensorflow/tfjs-backend-webgpu's matmul on
// the same adapter and shapes, in one run.

import type { CommandBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { matmul } from '../../src/gpu/ops/matmul.ts';
import { randomArray } from '../../src/gpu/random.ts';
import { createTensor, destroyTensors } from '../../src/gpu/tensor.ts';
import { type BenchRow, row, timeGpu } from './common.ts';

type Form = 'A·B' | 'Aᵀ·B' | 'A·Bᵀ';
const FORMS: Array<[Form, boolean, boolean]> = [
  ['A·B', false, false],
  ['Aᵀ·B', true, false],
  ['A·Bᵀ', false, true],
];

interface TfLike {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  matMul(a: TfTensor, b: TfTensor, transposeA: boolean, transposeB: boolean): TfTensor;
  dispose(t: TfTensor | TfTensor[]): void;
}
interface TfTensor {
  dispose(): void;
  data(): Promise<unknown>;
}

/** Loads tfjs with its WebGPU backend on the same navigator.gpu; null (with a reason) if it cannot. */
async function loadTfjs(ctx: GpuContext): Promise<{ tf: TfLike } | { error: string }> {
  try {
    const g = globalThis as { navigator?: { gpu?: GPU } };
    if (!g.navigator?.gpu) {
      // In Node, give tfjs the same Dawn instance the engine uses.
      const dawn = await import('webgpu');
      const gpu = dawn.create([]);
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    }
    const tf = (await import('@tensorflow/tfjs-core')) as unknown as TfLike;
    await import('@tensorflow/tfjs-backend-webgpu');
    const ok = await tf.setBackend('webgpu');
    await tf.ready();
    if (!ok) return { error: 'tfjs could not start its webgpu backend' };
    void ctx;
    return { tf };
  } catch (err) {
    return { error: `tfjs webgpu backend unavailable: ${(err as Error).message}` };
  }
}

/** One tfjs matmul, dispatch + read-back (tfjs records lazily; reading C is its completion point). */
function tfjsRunner(tf: TfLike, M: number, N: number, K: number, transA: boolean, transB: boolean) {
  const a = tf.tensor2d(randomArray(M * K, 1), transA ? [K, M] : [M, K]);
  const b = tf.tensor2d(randomArray(K * N, 2), transB ? [N, K] : [K, N]);
  return {
    async once(): Promise<number> {
      const t0 = performance.now();
      const c = tf.matMul(a, b, transA, transB);
      await c.data();
      const ms = performance.now() - t0;
      c.dispose();
      return ms;
    },
    dispose: () => tf.dispose([a, b]),
  };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

export async function benchMatmul(ctx: GpuContext, size: 'small' | 'medium'): Promise<BenchRow[]> {
  const shapes: Array<[number, number, number]> =
    size === 'small'
      ? [
          [128, 128, 128],
          [256, 256, 256],
          [512, 128, 512],
        ]
      : [
          [512, 512, 512],
          [1024, 1024, 1024],
          [2048, 256, 1024],
        ];
  const tfjs = await loadTfjs(ctx);
  const rows: BenchRow[] = [];
  for (const [M, N, K] of shapes) {
    for (const [form, transA, transB] of FORMS) {
      const a = createTensor(ctx, [M * K], 'f32', 'A', randomArray(M * K, 1));
      const b = createTensor(ctx, [K * N], 'f32', 'B', randomArray(K * N, 2));
      const c = createTensor(ctx, [M * N], 'f32', 'C');
      const record = (batch: CommandBatch) => matmul(batch, a, b, c, { M, N, K, transA, transB });
      const ms = await timeGpu(ctx, record);
      const flops = 2 * M * N * K;
      const r = row(`matmul ${form}`, `${M}x${N}x${K}`, ms, flops, 4 * (M * K + K * N + M * N));
      if ('tf' in tfjs) {
        // Both timed as dispatch + read-back of C, interleaved one by one so that a slow
        // moment of the machine hits both libraries alike; medians of 9.
        const tfRun = tfjsRunner(tfjs.tf, M, N, K, transA, transB);
        await tfRun.once();
        await timeGpu(ctx, record, { warmup: 1, repeats: 1, readBack: c });
        const ours: number[] = [];
        const theirs: number[] = [];
        for (let i = 0; i < 9; i++) {
          ours.push(await timeGpu(ctx, record, { warmup: 0, repeats: 1, readBack: c }));
          theirs.push(await tfRun.once());
        }
        tfRun.dispose();
        const withReadMs = median(ours);
        const tfMs = median(theirs);
        r.withReadbackMs = Number(withReadMs.toFixed(4));
        r.tfjsWithReadbackMs = Number(tfMs.toFixed(4));
        r.tfjsGflops = Number((flops / (tfMs * 1e6)).toFixed(4));
        r.speedupOverTfjs = Number((tfMs / withReadMs).toFixed(3));
      } else {
        r.tfjs = tfjs.error;
      }
      destroyTensors(a, b, c);
      rows.push(r);
    }
  }
  const speedups = rows.map((r) => r.speedupOverTfjs).filter((x): x is number => typeof x === 'number');
  if (speedups.length > 0) {
    const geomean = Math.exp(speedups.reduce((a, x) => a + Math.log(x), 0) / speedups.length);
    rows.push({
      kernel: 'matmul vs tfjs',
      shape: 'all rows',
      ms: 0,
      geometricMeanSpeedupOverTfjs: Number(geomean.toFixed(3)),
    });
  }
  return rows;
}
