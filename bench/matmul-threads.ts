// `npx tsx bench/matmul-threads.ts [--threads 2] [--rounds 3]`: the matmul of the CPU backend on
// one thread against src/gpu/cpu/matmul-threads.ts. Prints, per round (interleaved, since the
// machine may be shared): the extra cost of a tiny kernel call cut in two chunks over the same
// call in one (publishing it, waking a worker, waiting for a chunk it claimed: the per-call
// overhead), and ms per matmul at the decoder's shapes, whole (copies included) and for the
// kernel alone: the fastest of the repeats, since on a shared machine the mean mostly says how
// often the worker found no free core. JSON lines on stdout. Not a test.

import { cpus, loadavg } from 'node:os';
import { type FastMatmulShape, matmulFast } from '../src/gpu/cpu/matmul.ts';
import { MatmulThreads } from '../src/gpu/cpu/matmul-threads.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const threads = arg('threads', 2);
const rounds = arg('rounds', 3);

const pool = new MatmulThreads(threads);
await pool.ready();

function timeAll(repeats: number, f: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) f();
  return performance.now() - t0;
}

/** The fastest of `repeats` calls, in ms. */
function msPer(repeats: number, f: () => void): number {
  for (let i = 0; i < Math.min(3, repeats); i++) f();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

// x·Wᵀ at T 256 / width 64 and T 512 / width 128 (batch 8), their dx and dW, and an MLP layer.
const SHAPES: Array<{ name: string; shape: FastMatmulShape }> = [
  { name: 'linear 2048x64x64', shape: { M: 2048, N: 64, K: 64, transB: true } },
  { name: 'linear 4096x128x128', shape: { M: 4096, N: 128, K: 128, transB: true } },
  { name: 'mlp 4096x256x128', shape: { M: 4096, N: 256, K: 128, transB: true } },
  { name: 'dx 4096x128x256', shape: { M: 4096, N: 128, K: 256 } },
  { name: 'dW 128x128x4096', shape: { M: 128, N: 128, K: 4096, transA: true } },
];

for (let round = 0; round < rounds; round++) {
  // Overhead: a call of 8×8×8 split in two against the same call on the caller alone.
  const s = pool.scratch(4096);
  s.fill(0.5);
  const tiny = { a: 0, ars: 32, aks: 4, b: 256, ldb: 32, c: 512, ldc: 32, M: 8, N8: 1, K: 8, kc: 256 };
  const call = { ...tiny, accumulate: false };
  const splitUs = 1000 * msPer(2000, () => pool.run(call, 2));
  const aloneUs = 1000 * msPer(2000, () => pool.run(call, 1));
  // The mean as well: the fastest split call may be one whose worker woke too late to claim.
  const meanSplitUs = (1000 * timeAll(2000, () => pool.run(call, 2))) / 2000;
  const meanAloneUs = (1000 * timeAll(2000, () => pool.run(call, 1))) / 2000;
  const shapes: Record<string, { one: number; threaded: number; kernelOne: number; kernelThreaded: number }> =
    {};
  for (const { name, shape } of SHAPES) {
    const { M, N, K } = shape;
    const a = Float32Array.from({ length: M * K }, (_, i) => (i % 7) - 3);
    const b = Float32Array.from({ length: K * N }, (_, i) => (i % 5) - 2);
    const c = new Float32Array(M * N);
    const one = msPer(40, () => matmulFast(a, b, c, shape));
    const threaded = msPer(40, () => pool.matmul(a, b, c, shape));
    // The kernel alone, on operands already in the shared memory.
    const ld = (N + 7) & ~7;
    pool.scratch(M * K + K * ld + M * ld);
    const kernel = {
      a: 0,
      ars: 4 * (shape.transA ? 1 : K),
      aks: 4 * (shape.transA ? M : 1),
      b: 4 * M * K,
      ldb: 4 * ld,
      c: 4 * (M * K + K * ld),
      ldc: 4 * ld,
      M,
      N8: ld >> 3,
      K,
      kc: 256,
      accumulate: false,
    };
    const kernelOne = msPer(40, () => pool.run(kernel, 1));
    const kernelThreaded = msPer(40, () => pool.run(kernel));
    const r = (x: number) => Number(x.toFixed(3));
    shapes[name] = {
      one: r(one),
      threaded: r(threaded),
      kernelOne: r(kernelOne),
      kernelThreaded: r(kernelThreaded),
    };
  }
  console.log(
    JSON.stringify({
      round,
      threads,
      cpus: cpus().length,
      load1: Number(loadavg()[0].toFixed(2)),
      handOffUs: {
        fastest: Number((splitUs - aloneUs).toFixed(2)),
        mean: Number((meanSplitUs - meanAloneUs).toFixed(2)),
      },
      workerChunks: pool.workerChunks,
      msPerMatmul: shapes,
    }),
  );
}
pool.dispose();
