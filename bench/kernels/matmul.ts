// Matmul throughput, ours side by side with @tensorflow/tfjs-backend-webgpu's matmul on
// the same adapter and shapes, in one run.

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

async function timeTfjs(
  tf: TfLike,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  repeats = 5,
) {
  const a = tf.tensor2d(randomArray(M * K, 1), transA ? [K, M] : [M, K]);
  const b = tf.tensor2d(randomArray(K * N, 2), transB ? [N, K] : [K, N]);
  // tfjs records lazily; reading the result back is the only reliable completion point,
  // so both libraries are timed as dispatch + read-back of C.
  const once = async () => {
    const t0 = performance.now();
    const c = tf.matMul(a, b, transA, transB);
    await c.data();
    const ms = performance.now() - t0;
    c.dispose();
    return ms;
  };
  await once();
  await once();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await once());
  tf.dispose([a, b]);
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}

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
      const ms = await timeGpu(ctx, (batch) => matmul(batch, a, b, c, { M, N, K, transA, transB }));
      const withReadMs = await timeGpu(ctx, (batch) => matmul(batch, a, b, c, { M, N, K, transA, transB }), {
        readBack: c,
      });
      destroyTensors(a, b, c);
      const flops = 2 * M * N * K;
      const r = row(`matmul ${form}`, `${M}x${N}x${K}`, ms, flops, 4 * (M * K + K * N + M * N));
      if ('tf' in tfjs) {
        const tfMs = await timeTfjs(tfjs.tf, M, N, K, transA, transB);
        r.withReadbackMs = Number(withReadMs.toFixed(4));
        r.tfjsWithReadbackMs = Number(tfMs.toFixed(4));
        r.tfjsGflops = Number((flops / (tfMs * 1e6)).toFixed(4));
        r.speedupOverTfjs = Number((tfMs / withReadMs).toFixed(3));
      } else {
        r.tfjs = tfjs.error;
      }
      rows.push(r);
    }
  }
  return rows;
}
