import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import { type FastMatmulShape, matmulFast, matmulUsesSimd } from '../../../src/gpu/cpu/matmul.ts';
import { MatmulThreads, splitDirectCall } from '../../../src/gpu/cpu/matmul-threads.ts';

// The threaded matmul against the one-thread one, bit for bit, on shapes whose splits are uneven:
// rows not a multiple of 4, columns not of 8, K past one block of 256, few rows (split by
// columns), both transposes, accumulation. Parts are forced down to one multiply-add, so every
// shape here is split.

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
  const pools = [2, 3].map((t) => new MatmulThreads(t, { minPartMacs: 1 }));
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
    const pool = new MatmulThreads(2, { minPartMacs: 1 });
    await pool.ready();
    const end = 4 * pool.scratch(1024).length;
    // Three rows split by panels: the caller's B panel is the memory's last 32 bytes, the
    // worker's lies past the end, so only the worker's kernel traps.
    const call = { a: 0, ars: 4, aks: 4, b: end - 32, ldb: 64, c: 0, ldc: 64, M: 3, N8: 2, K: 1 };
    expect(() => pool.run({ ...call, kc: 256, accumulate: false })).toThrow(/worker 1: the kernel threw/);
    // The pool is unusable from then on, and says so.
    expect(() => pool.run({ ...call, b: 0, kc: 256, accumulate: false })).toThrow(/worker 1/);
    pool.dispose();
  });

  it('gives up on a worker that stopped answering, with an error', async () => {
    const pool = new MatmulThreads(2, { minPartMacs: 1, timeoutMs: 300 });
    await pool.ready();
    // Stands in for a dead thread: the worker leaves its loop and never answers again.
    const control = (pool as unknown as { control: Int32Array }).control;
    Atomics.store(control, 3, 1);
    Atomics.add(control, 0, 1);
    Atomics.notify(control, 0);
    pool.scratch(1024);
    const call = { a: 0, ars: 4, aks: 4, b: 0, ldb: 32, c: 0, ldc: 32, M: 8, N8: 1, K: 4, kc: 256 };
    const t0 = performance.now();
    expect(() => pool.run({ ...call, accumulate: false })).toThrow(/did not finish/);
    expect(performance.now() - t0).toBeLessThan(5000);
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
