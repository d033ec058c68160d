import { afterEach, describe, expect, it } from 'vitest';
import { ScanArena, WALK_BUDGET } from '../../src/rosa-worker/arena.ts';
import { allocateScanOutputs, paddedLength, type RosaMode } from '../../src/rosa-worker/layout.ts';
import { scanLanes } from '../../src/rosa-worker/scan.ts';
import {
  expectInverseListsConsistent,
  expectLanesMatchSingleRoute,
  randomBatch,
  range,
} from './batch-helpers.ts';

const modes: RosaMode[] = ['rosa-tuning', 'exact', 'rwkv8'];

describe('scanLanes (batched, one thread)', () => {
  const budget = { ...WALK_BUDGET };
  afterEach(() => Object.assign(WALK_BUDGET, budget));

  it.each(modes)('%s: every lane equals the single-route API, inverse lists agree', (mode) => {
    for (const [seed, shape] of [
      [1, { lanes: 7, T: 157, bits: 2 }],
      [2, { lanes: 5, T: 64, bits: 4 }],
      [3, { lanes: 4, T: 33, bits: 1 }],
      [4, { lanes: 3, T: 90, bits: 3 }],
    ] as const) {
      const input = randomBatch(shape, mode, seed);
      const out = allocateScanOutputs(shape);
      scanLanes(input, out);
      expectLanesMatchSingleRoute(input, out, range(0, shape.lanes));
      expectInverseListsConsistent(out, shape, range(0, shape.lanes));
    }
  });

  it('a lane range writes only its own lanes, reusing one arena across calls', () => {
    const shape = { lanes: 6, T: 50, bits: 4 };
    const input = randomBatch(shape, 'rosa-tuning', 9);
    const out = allocateScanOutputs(shape);
    for (const a of Object.values(out)) a.fill(-7);
    const arena = scanLanes(input, out, 2, 4);
    expectLanesMatchSingleRoute(input, out, [2, 3]);
    expect(Array.from(out.dest.subarray(0, 2 * shape.T)).every((x) => x === -7)).toBe(true);
    expect(Array.from(out.dest.subarray(4 * shape.T)).every((x) => x === -7)).toBe(true);
    expect(Array.from(out.cfInvOffsets.subarray(0, 2 * (shape.T * 8 + 1))).every((x) => x === -7)).toBe(true);
    expect(scanLanes(input, out, 4, 6, arena)).toBe(arena);
    expectLanesMatchSingleRoute(input, out, [4, 5]);
  });

  it.each(modes)("%s: 'auto' switching to the index mid-lane gives the same outputs as walking", (mode) => {
    const shape = { lanes: 6, T: 700, bits: 2 };
    const input = randomBatch(shape, mode, 11);
    const walked = allocateScanOutputs(shape);
    scanLanes(input, walked, 0, shape.lanes, new ScanArena(shape.T, 4, 'walk'));
    // A tiny budget makes every lane give up walking part-way and restart on the index.
    WALK_BUDGET.base = 40;
    WALK_BUDGET.perSymbol = 1;
    const auto = allocateScanOutputs(shape);
    const arena = scanLanes(input, auto, 0, shape.lanes, new ScanArena(shape.T, 4, 'auto'));
    expect(arena.indexedLanes).toBeGreaterThan(0);
    expect(auto).toEqual(walked);
  });

  it('periodic lanes switch to the index under the default budget; outputs unchanged', () => {
    const shape = { lanes: 3, T: 3000, bits: 4 };
    const input = randomBatch(shape, 'rosa-tuning', 12);
    for (let lane = 0; lane < 3; lane++) {
      for (let t = 0; t < shape.T; t++) {
        input.kSym[lane * paddedLength(shape.T) + t] = t % 3;
        input.qSym[lane * paddedLength(shape.T) + t] = (t + lane) % 3;
      }
    }
    const auto = allocateScanOutputs(shape);
    const arena = scanLanes(input, auto);
    expect(arena.indexedLanes).toBe(3);
    expectLanesMatchSingleRoute({ ...input, mode: 'rosa-tuning' }, auto, [0, 1, 2]);
    const walked = allocateScanOutputs(shape);
    scanLanes(input, walked, 0, 3, new ScanArena(shape.T, 16, 'walk'));
    expect(auto).toEqual(walked);
  });

  it.each(modes)('%s: empty shapes (T = 0, no lanes, T = 1) work', (mode) => {
    for (const shape of [
      { lanes: 3, T: 0, bits: 4 },
      { lanes: 0, T: 5, bits: 2 },
      { lanes: 2, T: 1, bits: 1 },
    ]) {
      const input = randomBatch(shape, mode, 5);
      const out = allocateScanOutputs(shape);
      scanLanes(input, out);
      expectLanesMatchSingleRoute(input, out, range(0, shape.lanes));
      expectInverseListsConsistent(out, shape, range(0, shape.lanes));
    }
  });

  it('rejects symbols that do not fit the bits, short buffers and bad lane ranges', () => {
    const shape = { lanes: 2, T: 10, bits: 2 };
    const input = randomBatch(shape, 'exact', 3);
    const out = allocateScanOutputs(shape);
    input.qSym[12 + 5] = 4;
    expect(() => scanLanes(input, out)).toThrow(/lane 1, t=5: symbol 4 does not fit 2 bits/);
    input.qSym[12 + 5] = 0;
    expect(() => scanLanes(input, out, 1, 3)).toThrow(/lane range/);
    expect(() => scanLanes(input, allocateScanOutputs({ ...shape, lanes: 1 }))).toThrow(
      /dest holds 10 elements/,
    );
  });
});
