import { describe, expect, it } from 'vitest';
import type { AttentionMap, RetrievalMap } from '../../../src/gpu/train/protocol.ts';
import { headStats, rasterizeAttention, topKeys } from '../../../src/ui/retrieval/attention.ts';

const T = 8;

/** Head 0: always the previous token (itself at t = 0); head 1: uniform over the last 2 keys. */
function map(): AttentionMap {
  const probs = new Float32Array(2 * T * T);
  for (let t = 0; t < T; t++) {
    probs[t * T + Math.max(0, t - 1)] = 1;
    if (t === 0) probs[(T + t) * T] = 1;
    else probs[(T + t) * T + t - 1] = probs[(T + t) * T + t] = 0.5;
  }
  return {
    runId: 'r',
    layer: 1,
    T,
    tokens: [...'abcdefgh'],
    heads: 2,
    probs,
    window: 2,
    attention: 'window',
  };
}

/** One route retrieving t − 1 at odd t. */
function retrieval(over: Partial<RetrievalMap> = {}): RetrievalMap {
  const dest = new Int32Array(T).fill(-1);
  for (let t = 1; t < T; t += 2) dest[t] = t - 1;
  return { runId: 'r', layer: 1, T, tokens: [], routes: 1, dest, window: 2, attention: 'window', ...over };
}

describe('attention display', () => {
  it('head statistics: distance, peak and weight on ROSA’s retrievals', () => {
    const [h0, h1] = headStats(map(), retrieval());
    // Head 0 looks 1 back except at t = 0: 7/8; head 1 half a token back except at t = 0.
    expect(h0.meanDistance).toBeCloseTo(7 / 8, 6);
    expect(h1.meanDistance).toBeCloseTo(3.5 / 8, 6);
    expect(h0.peak).toBe(1);
    expect(h1.peak).toBeCloseTo((1 + 7 * 0.5) / 8, 6);
    // ROSA retrieved t − 1 at t = 1, 3, 5, 7: head 0 puts all its weight there, head 1 half.
    expect(h0.onRetrieved).toBe(1);
    expect(h1.onRetrieved).toBe(0.5);
  });

  it('compares with retrievals only of the same layer and length', () => {
    expect(headStats(map(), retrieval({ layer: 0 }))[0].onRetrieved).toBeNull();
    expect(headStats(map(), null)[0].onRetrieved).toBeNull();
  });

  it('max-pools probabilities into fewer cells, keeping a sharp peak', () => {
    const full = rasterizeAttention(map(), 0, 64);
    expect(full.cells).toBe(T);
    expect(full.grid[5 * T + 4]).toBe(1);
    const half = rasterizeAttention(map(), 1, 4);
    expect(half.cells).toBe(4);
    // Rows 6, 7 × keys 6, 7 fall in cell (3, 3): the largest of their weights.
    expect(half.grid[3 * 4 + 3]).toBe(0.5);
    expect(half.grid[3 * 4 + 0]).toBe(0);
  });

  it('lists the strongest keys of a query', () => {
    expect(topKeys(map(), 1, 5)).toEqual([
      { u: 4, p: 0.5 },
      { u: 5, p: 0.5 },
    ]);
  });
});
