import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateScanOutputs, type RosaMode, type ScanOutputs } from '../../src/rosa-worker/layout.ts';
import { createNodeRosaPool } from '../../src/rosa-worker/platform/node.ts';
import {
  MIN_JOB_SYMBOLS,
  planChunkLanes,
  RosaWorkerError,
  type RosaWorkerPool,
} from '../../src/rosa-worker/pool.ts';
import { scanLanes } from '../../src/rosa-worker/scan.ts';
import { expectInverseListsConsistent, randomBatch, range } from './batch-helpers.ts';

const modes: RosaMode[] = ['rosa-tuning', 'exact', 'rwkv8'];

describe('ROSA worker pool (worker_threads)', () => {
  let pool: RosaWorkerPool;
  beforeAll(async () => {
    pool = createNodeRosaPool({ size: 2 });
    await pool.ready();
  });
  afterAll(async () => {
    await pool.terminate();
  });

  it('uses shared memory in Node', () => {
    expect(pool.memory).toBe('shared');
    expect(pool.size).toBe(2);
    expect(pool.alive).toBe(2);
  });

  it.each(modes)(
    '%s: pooled outputs equal the single-thread scan, in place in SharedArrayBuffers',
    async (mode) => {
      const shape = { lanes: 9, T: 203, bits: 4 };
      const input = randomBatch(shape, mode, 21, true);
      const out = allocateScanOutputs(shape, true);
      const report = await pool.scan(input, out, { chunkLanes: 2 });
      expect(report.memory).toBe('shared');
      expect(report.jobs).toBe(5);
      const want = allocateScanOutputs(shape);
      scanLanes(input, want);
      expect(out).toEqual(want);
      expectInverseListsConsistent(out, shape, range(0, shape.lanes));
    },
  );

  it("the workers run the 'rosa-tuning' walk in WebAssembly (forced) and in JS, with equal outputs", async () => {
    const shape = { lanes: 6, T: 400, bits: 4 };
    const input = randomBatch(shape, 'rosa-tuning', 23, true);
    const want = allocateScanOutputs(shape);
    scanLanes(input, want, 0, shape.lanes, undefined, { engine: 'js' });
    for (const engine of ['wasm', 'js'] as const) {
      // 'wasm' throws in a worker that cannot compile it: this checks the workers have the kernel.
      const out = allocateScanOutputs(shape, true);
      await pool.scan(input, out, { engine, chunkLanes: 3 });
      expect(out, engine).toEqual(want);
    }
  });

  it.each(modes)('%s: without shared buffers the pool copies through transferables', async (mode) => {
    const shape = { lanes: 5, T: 77, bits: 2 };
    const input = randomBatch(shape, mode, 22, false);
    const out = allocateScanOutputs(shape, false);
    const report = await pool.scan(input, out);
    expect(report.memory).toBe('transfer');
    const want = allocateScanOutputs(shape);
    scanLanes(input, want);
    expect(out).toEqual(want);
  });

  it("a pool made with memory 'transfer' reports it and copies even shared buffers", async () => {
    const copying = createNodeRosaPool({ size: 1, memory: 'transfer' });
    try {
      expect(copying.memory).toBe('transfer');
      const shape = { lanes: 3, T: 40, bits: 3 };
      const input = randomBatch(shape, 'exact', 23, true);
      const out = allocateScanOutputs(shape, true);
      expect((await copying.scan(input, out)).memory).toBe('transfer');
      const want = allocateScanOutputs(shape);
      scanLanes(input, want);
      expect(out).toEqual(want);
    } finally {
      await copying.terminate();
    }
  });

  describe('failures are reported, not hung on, and the pool recovers', () => {
    const shape = { lanes: 8, T: 64, bits: 4 };
    const cases = [
      [
        'throw',
        /threw on lanes 4\.\.5 \(batch 1 route 0 to batch 1 route 1\).*'exact'.*lanes=8 T=64 bits=4.*injected fault/,
      ],
      ['exit', /died on lanes 4\.\.5 .*exited with code 70/],
      ['uncaught', /died on lanes 4\.\.5 .*uncaught error/],
      ['hang', /timed out on lanes 4\.\.5 .*no reply within 1500 ms/],
    ] as const;
    it.each(cases)("fault '%s'", async (kind, message) => {
      const input = randomBatch(shape, 'exact', 24, true);
      const out = allocateScanOutputs(shape, true);
      const failing = pool.scan(input, out, {
        routes: 4,
        chunkLanes: 2,
        timeoutMs: kind === 'hang' ? 1500 : undefined,
        injectFault: { lane: 5, kind },
      });
      await expect(failing).rejects.toThrow(message);
      await expect(failing).rejects.toBeInstanceOf(RosaWorkerError);
      const error = await failing.then(
        () => null,
        (e: RosaWorkerError) => e,
      );
      expect([error?.laneStart, error?.laneEnd, error?.mode]).toEqual([4, 6, 'exact']);
      // The next scan replaces a dead worker and gives correct results.
      const again = allocateScanOutputs(shape, true);
      await pool.scan(input, again, { timeoutMs: 20_000 });
      const want = allocateScanOutputs(shape);
      scanLanes(input, want);
      expect(again).toEqual(want);
      expect(pool.alive).toBe(2);
    });
  });

  it('scans requested at the same time run one after the other, each correct', async () => {
    const shapes = [
      { lanes: 6, T: 120, bits: 4 },
      { lanes: 3, T: 300, bits: 2 },
      { lanes: 5, T: 64, bits: 3 },
    ];
    const inputs = shapes.map((shape, i) => randomBatch(shape, modes[i], 30 + i, true));
    const outs = shapes.map((shape) => allocateScanOutputs(shape, true));
    await Promise.all(inputs.map((input, i) => pool.scan(input, outs[i])));
    for (const [i, input] of inputs.entries()) {
      const want = allocateScanOutputs(shapes[i]);
      scanLanes(input, want);
      expect(outs[i]).toEqual(want);
    }
  });

  it('jobs go out at the call: workers scan while the caller keeps the thread busy', async () => {
    // The CPU backend calls scan() and then computes the attention synchronously; a scan
    // started from a microtask would only reach the workers once that is done. Spin (never
    // yielding) until the workers have written every dest entry into shared memory.
    const shape = { lanes: 8, T: 64, bits: 4 };
    const input = randomBatch(shape, 'rosa-tuning', 41, true);
    const out = allocateScanOutputs(shape, true);
    out.dest.fill(-7); // never a scan result (-1 or a time)
    const scanned = pool.scan(input, out);
    const deadline = performance.now() + 5000;
    let written = false;
    while (!written && performance.now() < deadline) written = out.dest.every((d) => d !== -7);
    await scanned;
    expect(written, 'the workers wrote nothing while the caller was busy').toBe(true);
    const want = allocateScanOutputs(shape);
    scanLanes(input, want);
    expect(out).toEqual(want);
  });

  it('a training-shaped call (128 lanes × 256) goes out as one job per worker, outputs unchanged', async () => {
    const shape = { lanes: 128, T: 256, bits: 4 };
    const input = randomBatch(shape, 'rosa-tuning', 40, true);
    const out = allocateScanOutputs(shape, true);
    const report = await pool.scan(input, out);
    expect(report.jobs).toBe(2);
    const want = allocateScanOutputs(shape);
    scanLanes(input, want);
    expect(out).toEqual(want);
  });

  it('split calls equal the one-thread scan for any shape, chunking and inverse-list choice', async () => {
    const scanFields = ['dest', 'qRunId', 'rcf', 'kRunStart'] as const;
    const pick = (o: ScanOutputs, all: boolean) =>
      all ? o : Object.fromEntries(scanFields.map((f) => [f, o[f]]));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          lanes: fc.integer({ min: 1, max: 24 }),
          T: fc.integer({ min: 0, max: 300 }),
          bits: fc.integer({ min: 1, max: 8 }),
          mode: fc.constantFrom<RosaMode>(...modes),
          seed: fc.nat(),
          chunk: fc.option(fc.integer({ min: 1, max: 24 }), { nil: undefined }),
          inverseIndices: fc.boolean(),
        }),
        async ({ lanes, T, bits, mode, seed, chunk, inverseIndices }) => {
          const shape = { lanes, T, bits };
          const input = randomBatch(shape, mode, seed, true);
          const out = allocateScanOutputs(shape, true);
          await pool.scan(input, out, { chunkLanes: chunk, inverseIndices });
          const want = allocateScanOutputs(shape);
          scanLanes(input, want);
          expect(pick(out, inverseIndices)).toEqual(pick(want, inverseIndices));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('rejects buffers that do not fit the shape before any worker runs', async () => {
    const shape = { lanes: 2, T: 10, bits: 2 };
    const input = randomBatch(shape, 'rosa-tuning', 25, true);
    await expect(pool.scan(input, allocateScanOutputs({ ...shape, T: 9 }, true))).rejects.toThrow(
      /dest holds 18/,
    );
  });

  it('can be terminated (scans then fail) and restarted', async () => {
    const shape = { lanes: 3, T: 30, bits: 2 };
    const input = randomBatch(shape, 'rwkv8', 26, true);
    await pool.terminate();
    expect(pool.alive).toBe(0);
    await expect(pool.scan(input, allocateScanOutputs(shape, true))).rejects.toThrow(/terminated/);
    await pool.restart();
    expect(pool.alive).toBe(2);
    const out = allocateScanOutputs(shape, true);
    await pool.scan(input, out);
    const want = allocateScanOutputs(shape);
    scanLanes(input, want);
    expect(out).toEqual(want);
  });
});

describe('planChunkLanes: jobs sized by work, not only by lanes', () => {
  it('small calls: one job per worker; lanes never exceed the call', () => {
    expect(planChunkLanes({ lanes: 128, T: 256, bits: 4 }, 2)).toBe(64);
    expect(planChunkLanes({ lanes: 128, T: 256, bits: 4 }, 1)).toBe(128);
    expect(planChunkLanes({ lanes: 1, T: 256, bits: 4 }, 4)).toBe(1);
    expect(planChunkLanes({ lanes: 0, T: 256, bits: 4 }, 2)).toBe(1);
  });
  it('large calls: up to four jobs per worker, each still at least MIN_JOB_SYMBOLS', () => {
    expect(planChunkLanes({ lanes: 8, T: 65536, bits: 4 }, 2)).toBe(1);
    expect(planChunkLanes({ lanes: 64, T: 4096, bits: 4 }, 2)).toBe(16);
    const shape = { lanes: 256, T: 4096, bits: 4 };
    const chunk = planChunkLanes(shape, 2);
    expect(Math.ceil(shape.lanes / chunk)).toBe(8);
    expect(chunk * shape.T).toBeGreaterThanOrEqual(MIN_JOB_SYMBOLS);
  });
});
