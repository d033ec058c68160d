// The WebAssembly 'rosa-tuning' walk (tuning-wasm.ts) against the JS one (tuning-fast.ts): every
// output bit for bit, the walk budget giving up on the same lanes, memory growth, and the JS
// fallback where WebAssembly is missing.

import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScanArena, type ScanEngine, WALK_BUDGET } from '../../src/rosa-worker/arena.ts';
import {
  allocateScanInputs,
  allocateScanOutputs,
  paddedLength,
  type ScanShape,
} from '../../src/rosa-worker/layout.ts';
import { type ScanInput, scanLanes } from '../../src/rosa-worker/scan.ts';
import { tuningLaneWalk } from '../../src/rosa-worker/tuning-fast.ts';
import { TuningWasm, tuningWasmAvailable } from '../../src/rosa-worker/tuning-wasm.ts';
import { streamPair } from './arbitraries.ts';
import { randomBatch } from './batch-helpers.ts';

/** A batch whose lane i holds pairs[i] (shorter pairs repeat cyclically up to T). */
function batchOf(pairs: { q: number[]; k: number[] }[], T: number, bits: number): ScanInput {
  const shape: ScanShape = { lanes: pairs.length, T, bits };
  const { qSym, kSym } = allocateScanInputs(shape);
  const per = paddedLength(T);
  for (const [lane, { q, k }] of pairs.entries()) {
    for (let t = 0; t < T; t++) {
      qSym[lane * per + t] = q.length > 0 ? q[t % q.length] : 0;
      kSym[lane * per + t] = k.length > 0 ? k[t % k.length] : 0;
    }
  }
  return { mode: 'rosa-tuning', shape, qSym, kSym };
}

function scanWith(input: ScanInput, engine: ScanEngine, strategy: 'auto' | 'walk' = 'auto') {
  const out = allocateScanOutputs(input.shape);
  const arena = scanLanes(
    input,
    out,
    0,
    input.shape.lanes,
    new ScanArena(input.shape.T, 1 << input.shape.bits, strategy, engine),
  );
  return { out, indexedLanes: arena.indexedLanes };
}

describe("'rosa-tuning' walk in WebAssembly", () => {
  const budget = { ...WALK_BUDGET };
  afterEach(() => {
    Object.assign(WALK_BUDGET, budget);
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('is available under Node', () => {
    expect(tuningWasmAvailable()).toBe(true);
    expect(new ScanArena(10, 16, 'auto', 'auto').tuningWasm()).not.toBeNull();
    expect(new ScanArena(10, 16, 'auto', 'js').tuningWasm()).toBeNull();
    // Alphabets over 32 have no transition masks: the JS kernels run whatever the engine.
    expect(new ScanArena(10, 64, 'auto', 'wasm').tuningWasm()).toBeNull();
  });

  it('equals the JS walk on random, run-heavy and periodic lanes (1–5 bits, T up to 3000)', () => {
    const lanesArb = fc.integer({ min: 1, max: 5 }).chain((bits) =>
      fc.record({
        bits: fc.constant(bits),
        T: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3000 })),
        pairs: fc.array(streamPair(1 << bits, 400), { minLength: 1, maxLength: 4 }),
      }),
    );
    fc.assert(
      fc.property(lanesArb, ({ bits, T, pairs }) => {
        const input = batchOf(pairs, T, bits);
        for (const strategy of ['walk', 'auto'] as const) {
          const js = scanWith(input, 'js', strategy);
          const wasm = scanWith(input, 'wasm', strategy);
          expect(wasm.out, strategy).toEqual(js.out);
          expect(wasm.indexedLanes, strategy).toBe(js.indexedLanes);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('runs out of walk budget on the same lanes as the JS walk, with the same outputs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 1000 }),
        (bits, base, perSymbol, seed) => {
          // Lanes of all three kinds (random, run-heavy, periodic); a small budget trips some.
          const input = randomBatch({ lanes: 6, T: 500, bits }, 'rosa-tuning', seed);
          WALK_BUDGET.base = base;
          WALK_BUDGET.perSymbol = perSymbol;
          const js = scanWith(input, 'js');
          const wasm = scanWith(input, 'wasm');
          expect(wasm.indexedLanes).toBe(js.indexedLanes);
          expect(wasm.out).toEqual(js.out);
        },
      ),
      { numRuns: 25 },
    );
    // And the walk for reference: the switch to the index never changes outputs.
    WALK_BUDGET.base = 40;
    WALK_BUDGET.perSymbol = 1;
    const input = randomBatch({ lanes: 6, T: 700, bits: 2 }, 'rosa-tuning', 11);
    const wasm = scanWith(input, 'wasm');
    expect(wasm.indexedLanes).toBeGreaterThan(0);
    expect(wasm.out).toEqual(scanWith(input, 'js', 'walk').out);
  });

  it('counts walk steps as the JS walk does: a budget of exactly its steps holds, one less does not', () => {
    const wasm = TuningWasm.create(600, 4)!;
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 4 })
          .chain((bits) => fc.record({ bits: fc.constant(bits), pair: streamPair(1 << bits, 600) })),
        ({ bits, pair }) => {
          const T = pair.q.length;
          const input = batchOf([pair], T, bits);
          const lane = { q: input.qSym, qOffset: 0, k: input.kSym, kOffset: 0, T, bits };
          const out = { ...allocateScanOutputs(input.shape), rowOffset: 0, rcfOffset: 0 };
          const arena = new ScanArena(T, 1 << bits);
          tuningLaneWalk(lane, out, arena, false);
          const steps = arena.sam.work;
          expect(wasm.laneWalk(lane, out, null)).not.toBeNull();
          expect(wasm.work).toBe(steps);
          expect(wasm.laneWalk(lane, out, { base: steps, perSymbol: 0 })).not.toBeNull();
          if (steps > 0) expect(wasm.laneWalk(lane, out, { base: steps - 1, perSymbol: 0 })).toBeNull();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('periodic lanes give up walking under the default budget exactly as in JS', () => {
    const input = randomBatch({ lanes: 3, T: 3000, bits: 4 }, 'rosa-tuning', 12);
    const per = paddedLength(3000);
    for (let lane = 0; lane < 3; lane++) {
      for (let t = 0; t < 3000; t++) {
        input.kSym[lane * per + t] = t % 3;
        input.qSym[lane * per + t] = (t + lane) % 3;
      }
    }
    const wasm = scanWith(input, 'wasm');
    expect(wasm.indexedLanes).toBe(3);
    expect(wasm.out).toEqual(scanWith(input, 'js', 'walk').out);
  });

  it('grows its memory for a lane longer than it was made for', () => {
    const wasm = TuningWasm.create(8, 4);
    expect(wasm).not.toBeNull();
    const before = wasm!.bytes;
    for (const T of [5, 20000, 300]) {
      const input = randomBatch({ lanes: 1, T, bits: 4 }, 'rosa-tuning', T);
      const lane = { q: input.qSym, qOffset: 0, k: input.kSym, kOffset: 0, T, bits: 4 };
      const make = () => allocateScanOutputs(input.shape);
      const got = make();
      const want = make();
      const at = { rowOffset: 0, rcfOffset: 0 };
      const result = wasm!.laneWalk(lane, { ...got, ...at }, null);
      const ref = tuningLaneWalk(lane, { ...want, ...at }, new ScanArena(T, 16), false);
      expect(result).toEqual(ref);
      expect(got).toEqual(want);
    }
    expect(wasm!.bytes).toBeGreaterThan(before);
  });

  it('falls back to the JS walk where WebAssembly is missing', async () => {
    const input = randomBatch({ lanes: 4, T: 300, bits: 3 }, 'rosa-tuning', 5);
    const want = scanWith(input, 'js').out;
    vi.resetModules();
    vi.stubGlobal('WebAssembly', undefined);
    const arenaModule = await import('../../src/rosa-worker/arena.ts');
    const scanModule = await import('../../src/rosa-worker/scan.ts');
    const wasmModule = await import('../../src/rosa-worker/tuning-wasm.ts');
    expect(wasmModule.tuningWasmAvailable()).toBe(false);
    const out = allocateScanOutputs(input.shape);
    const arena = new arenaModule.ScanArena(300, 8, 'auto', 'auto');
    scanModule.scanLanes(input, out, 0, 4, arena);
    expect(arena.tuningWasm()).toBeNull();
    expect(out).toEqual(want);
    const forced = new arenaModule.ScanArena(300, 8, 'auto', 'wasm');
    expect(() => scanModule.scanLanes(input, allocateScanOutputs(input.shape), 0, 4, forced)).toThrow(
      /WebAssembly is not available/,
    );
  });
});
