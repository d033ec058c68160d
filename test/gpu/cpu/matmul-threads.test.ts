import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import { type FastMatmulShape, matmulFast, matmulUsesSimd } from '../../../src/gpu/cpu/matmul.ts';
import { MatmulThreads, splitDirectCall } from '../../../src/gpu/cpu/matmul-threads.ts';
import { SEQ, STOP } from '../../../src/gpu/cpu/matmul-threads-control.ts';

// The threaded matmul against the one-thread one, bit for bit, on shapes whose splits are uneven:
// rows not a multiple of 4, columns not of 8, K past one block of 256, few rows (split by
// columns), both transposes, accumulation. Chunks are allowed down to one multiply-add, so every
// shape here is split (into up to 4 chunks a thread).

function random(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

const SHAPES: FastMatmulShape[] = [
  { M: 13, N: 5, K: 300 },
  { M: 37, N: 70, K: 33, transB: true },
  { M: 3, N: 70, K: 257, transA: true },
  { M: 2, N: 17, K: 9 },
  { M: 64, N: 24, K: 513, transA: true, transB: true },
  { M: 1, N: 8, K: 1 },
];

describe.runIf(matmulUsesSimd)('matmul on worker threads', () => {
  const pools = [2, 3].map((t) => new MatmulThreads(t, { minChunkMacs: 1 }));
  afterAll(() => {
    for (const p of pools) p.dispose();
  });

  it('gives the same bits as one thread', async () => {
    for (const pool of pools) {
      await pool.ready();
      for (const [i, shape] of SHAPES.entries()) {
        for (const accumulate of [false, true]) {
          const { M, N, K } = shape;
          const a = random(M * K, 10 + i);
          const b = random(K * N, 20 + i);
          const c0 = random(M * N, 30 + i);
          const one = Float32Array.from(c0);
          matmulFast(a, b, one, shape, accumulate);
          // Stale NaNs in the shared memory show up wherever a part was skipped.
          pool.scratch(1 << 16).fill(Number.NaN);
          const many = Float32Array.from(c0);
          pool.matmul(a, b, many, shape, accumulate);
          const where = `${pool.threads} threads, ${JSON.stringify(shape)}, accumulate ${accumulate}`;
          expect(Array.from(many), where).toEqual(Array.from(one));
        }
      }
    }
  });

  it('gives the same bits with chunks the workers ran', async () => {
    // Tiny calls may end before a worker wakes: this one is large enough for a worker to claim
    // chunks (repeated until one has, in case the OS runs it late).
    const shape = { M: 517, N: 77, K: 300, transB: true };
    const a = random(517 * 300, 4);
    const b = random(300 * 77, 5);
    const one = new Float32Array(517 * 77);
    matmulFast(a, b, one, shape);
    for (const pool of pools) {
      const before = pool.workerChunks;
      for (let i = 0; i < 50 && pool.workerChunks === before; i++) {
        const many = new Float32Array(517 * 77);
        pool.matmul(a, b, many, shape);
        expect(Array.from(many)).toEqual(Array.from(one));
      }
      expect(pool.workerChunks).toBeGreaterThan(before);
    }
  });

  it('splits by rows in blocks of 4, by 8-column panels when rows are few', () => {
    const call = {
      a: 0,
      ars: 40,
      aks: 4,
      b: 0,
      ldb: 96,
      c: 0,
      ldc: 96,
      N8: 3,
      K: 10,
      kc: 256,
      accumulate: false,
    };
    const rows = splitDirectCall({ ...call, M: 13 }, 3);
    expect(rows.map((p) => p.M)).toEqual([4, 4, 5]);
    expect(rows.map((p) => p.c)).toEqual([0, 4 * 96, 8 * 96]);
    const cols = splitDirectCall({ ...call, M: 3 }, 3);
    expect(cols.map((p) => [p.M, p.N8, p.b, p.c])).toEqual([
      [3, 1, 0, 0],
      [3, 1, 32, 32],
      [3, 1, 64, 64],
    ]);
  });

  it('reports a kernel that traps in a worker instead of hanging', async () => {
    const pool = new MatmulThreads(2, { minChunkMacs: 1 });
    await pool.ready();
    const end = 4 * pool.scratch(1024).length;
    // Three rows cut into 8 panels: the last panel of B lies past the memory's end. Whichever
    // thread runs it traps; the caller still waits for the other chunks, then reports.
    const call = { a: 0, ars: 4, aks: 4, b: end - 7 * 32, ldb: 256, c: 0, ldc: 256, M: 3, N8: 8, K: 1 };
    expect(() => pool.run({ ...call, kc: 256, accumulate: false })).toThrow(/out of bounds/);
    // The pool is unusable from then on when a worker's kernel threw, and says so.
    pool.dispose();
    expect(() => pool.run({ ...call, b: 0, kc: 256, accumulate: false })).toThrow(/after dispose/);
  });

  it('leaves the chunks of a worker that does not run to the caller', async () => {
    const pool = new MatmulThreads(2, { minChunkMacs: 1 });
    await pool.ready();
    // The worker leaves its loop, as if the OS never ran it: the caller claims every chunk.
    const control = (pool as unknown as { control: Int32Array }).control;
    Atomics.store(control, STOP, 1);
    Atomics.add(control, SEQ, 1);
    Atomics.notify(control, SEQ);
    const shape = { M: 40, N: 24, K: 300 };
    const a = random(40 * 300, 1);
    const b = random(300 * 24, 2);
    const one = new Float32Array(40 * 24);
    const many = new Float32Array(40 * 24);
    matmulFast(a, b, one, shape);
    pool.matmul(a, b, many, shape);
    expect(Array.from(many)).toEqual(Array.from(one));
    pool.dispose();
  });

  it('gives up on a worker that hangs holding a chunk, with an error', async () => {
    const pool = new MatmulThreads(2, { minChunkMacs: 1, timeoutMs: 50, nsPerMac: 0, stallWorkers: true });
    await pool.ready();
    pool.scratch(1024);
    // 8 chunks of 4 rows, each of 2^20 steps of k over the same bytes (strides 0): a few ms each,
    // time for the worker to wake and claim one. Until it has, calls succeed.
    const call = { a: 0, ars: 4, aks: 0, b: 0, ldb: 0, c: 0, ldc: 32, M: 32, N8: 1, K: 2 ** 20 };
    const t0 = performance.now();
    let error: unknown = null;
    for (let attempt = 0; attempt < 20 && !error; attempt++) {
      try {
        pool.run({ ...call, kc: 2 ** 20, accumulate: false }, 8);
      } catch (err) {
        error = err;
      }
    }
    expect(String(error)).toMatch(/did not finish its chunk/);
    expect(performance.now() - t0).toBeLessThan(20_000);
    pool.dispose();
  });

  it('does not keep a Node process alive, disposed or not, nor end it before it has started', () => {
    const script = fileURLToPath(new URL('./fixtures/threads-exit.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/cli.mjs', import.meta.url));
    for (const mode of ['dispose', 'leave', 'await']) {
      const out = execFileSync(process.execPath, [tsx, script, mode], { timeout: 60_000, encoding: 'utf8' });
      expect(out.trim()).toBe(`ok ${mode}`);
    }
  });
});
