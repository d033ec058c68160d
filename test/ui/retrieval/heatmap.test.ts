import { describe, expect, it } from 'vitest';
import type { RetrievalMap } from '../../../src/gpu/train/protocol.ts';
import {
  axisTicks,
  cellOf,
  contextAround,
  ellipsize,
  rasterize,
  retrievalStats,
  retrievalsAt,
  showToken,
  windowBand,
} from '../../../src/ui/retrieval/heatmap.ts';

/** T = 8, 2 routes: route 0 retrieves t − 4 (t ≥ 4), route 1 retrieves t − 1 (t ≥ 1), window 3. */
function map(over: Partial<RetrievalMap> = {}): RetrievalMap {
  const T = 8;
  const dest = new Int32Array(2 * T).fill(-1);
  for (let t = 4; t < T; t++) dest[t] = t - 4;
  for (let t = 1; t < T; t++) dest[T + t] = t - 1;
  return {
    runId: 'r',
    layer: 1,
    T,
    tokens: [...'abcdefgh'],
    routes: 2,
    dest,
    window: 3,
    attention: 'window',
    ...over,
  };
}

describe('retrieval heatmap data', () => {
  it('aggregates all routes at full resolution', () => {
    const r = rasterize(map(), 'all');
    expect(r.cells).toBe(8);
    expect(r.grid[5 * 8 + 1]).toBe(1); // t=5 → 1 via route 0
    expect(r.grid[5 * 8 + 4]).toBe(1); // t=5 → 4 via route 1
    expect(r.grid.reduce((a, b) => a + b, 0)).toBe(4 + 7);
    expect(r.max).toBe(1);
  });

  it('shows one route alone and rejects routes that do not exist', () => {
    const r = rasterize(map(), 1);
    expect(r.grid.reduce((a, b) => a + b, 0)).toBe(7);
    expect(r.grid[5 * 8 + 1]).toBe(0);
    expect(() => rasterize(map(), 2)).toThrow(/route 2 does not exist \(this layer has 2 routes\)/);
  });

  it('bins long sequences into at most maxCells per side and adds up counts', () => {
    const T = 1000;
    const dest = new Int32Array(T).fill(0); // every query retrieves position 0
    const r = rasterize(map({ T, tokens: Array(T).fill('x'), routes: 1, dest }), 'all', 100);
    expect(r.cells).toBe(100);
    expect(r.grid[0]).toBe(10);
    expect(r.max).toBe(10);
    expect(cellOf(999, 1000, 100)).toBe(99);
    expect(cellOf(9, 1000, 100)).toBe(0);
  });

  it('gives the window band t−W+1 … t, and everything for global attention', () => {
    expect(windowBand(5, map())).toEqual({ from: 3, to: 5 });
    expect(windowBand(1, map())).toEqual({ from: 0, to: 1 });
    expect(windowBand(5, map({ attention: 'global' }))).toEqual({ from: 0, to: 5 });
    expect(windowBand(5, map({ window: 64 }))).toEqual({ from: 0, to: 5 });
  });

  it('counts retrievals beyond the window', () => {
    const all = retrievalStats(map(), 'all');
    expect(all).toMatchObject({ queriesWithRetrieval: 7, retrievals: 11, beyondWindow: 4 });
    expect(all.meanDistance).toBeCloseTo((4 * 4 + 7) / 11);
    expect(retrievalStats(map(), 1).beyondWindow).toBe(0);
  });

  it('lists what a query retrieved, latest first, with its routes', () => {
    expect(retrievalsAt(map(), 5, 'all')).toEqual([
      { dest: 4, routes: [1] },
      { dest: 1, routes: [0] },
    ]);
    const same = map();
    same.dest[5] = 4; // both routes agree
    expect(retrievalsAt(same, 5, 'all')).toEqual([{ dest: 4, routes: [0, 1] }]);
    expect(retrievalsAt(map(), 0, 'all')).toEqual([]);
  });

  it('builds contexts and labels as text', () => {
    expect(contextAround([...'abcdefgh'], 4, 2, 2)).toEqual({ before: '…cd', at: 'e', after: 'fg…' });
    expect(contextAround([...'abc'], 0, 5, 5)).toEqual({ before: '', at: 'a', after: 'bc' });
    expect(contextAround(['k1', 'v1', 'k2'], 1, 1, 1)).toEqual({ before: 'k1', at: 'v1', after: 'k2' });
    expect(showToken(' ')).toBe('␣');
    expect(ellipsize('abcdef', 4)).toBe('abc…');
    expect(ellipsize('abc', 4)).toBe('abc');
    expect(axisTicks(8, 16)).toHaveLength(8);
    expect(axisTicks(1000, 10)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
  });
});
