// Preparing an AttentionMap for display beside the retrieval heatmap: one query × key raster
// per head (max-pooled when T exceeds the cells, so a sharp peak stays visible), and per head
// how far back it looks and how much of its weight lands where ROSA retrieved from.

import type { AttentionMap, RetrievalMap } from '../../gpu/train/protocol.ts';
import { cellOf } from './heatmap.ts';

export interface AttentionRaster {
  cells: number;
  /** grid[r·cells + c]: the largest probability of the queries in row r for the keys in column c. */
  grid: Float32Array;
}

/** Probability that query t of head h gives key u. */
export function probabilityAt(map: AttentionMap, h: number, t: number, u: number): number {
  return map.probs[(h * map.T + t) * map.T + u];
}

export function rasterizeAttention(map: AttentionMap, head: number, maxCells = 256): AttentionRaster {
  const { T } = map;
  const cells = Math.max(1, Math.min(T, maxCells));
  const grid = new Float32Array(cells * cells);
  for (let t = 0; t < T; t++) {
    const r = cellOf(t, T, cells);
    for (let u = 0; u <= t; u++) {
      const p = probabilityAt(map, head, t, u);
      const i = r * cells + cellOf(u, T, cells);
      if (p > grid[i]) grid[i] = p;
    }
  }
  return { cells, grid };
}

export interface HeadStats {
  head: number;
  /** Mean over queries of Σ_u P_tu (t − u): how many tokens back the head looks on average. */
  meanDistance: number;
  /** Mean over queries of the largest P_tu: 1 for a head that always picks one key. */
  peak: number;
  /**
   * Mean over the queries where ROSA retrieved something (any route) of the attention weight on
   * the retrieved positions; null without a retrieval map of the same sample.
   */
  onRetrieved: number | null;
}

/** The positions ROSA retrieved for query t, over all routes (distinct). */
function retrievedAt(retrieval: RetrievalMap, t: number): number[] {
  const out = new Set<number>();
  for (let r = 0; r < retrieval.routes; r++) {
    const d = retrieval.dest[r * retrieval.T + t];
    if (d >= 0) out.add(d);
  }
  return [...out];
}

export function headStats(map: AttentionMap, retrieval: RetrievalMap | null): HeadStats[] {
  const { T } = map;
  const comparable = retrieval !== null && retrieval.T === T && retrieval.layer === map.layer;
  return Array.from({ length: map.heads }, (_, h) => {
    let distance = 0;
    let peak = 0;
    let onRetrieved = 0;
    let retrievedQueries = 0;
    for (let t = 0; t < T; t++) {
      let best = 0;
      for (let u = 0; u <= t; u++) {
        const p = probabilityAt(map, h, t, u);
        distance += p * (t - u);
        if (p > best) best = p;
      }
      peak += best;
      if (comparable) {
        const dests = retrievedAt(retrieval, t);
        if (dests.length > 0) {
          retrievedQueries++;
          for (const d of dests) onRetrieved += probabilityAt(map, h, t, d);
        }
      }
    }
    return {
      head: h,
      meanDistance: T > 0 ? distance / T : 0,
      peak: T > 0 ? peak / T : 0,
      onRetrieved: comparable && retrievedQueries > 0 ? onRetrieved / retrievedQueries : null,
    };
  });
}

/** Keys query t gives any weight to, strongest first (at most `n`), for the hover detail. */
export function topKeys(map: AttentionMap, head: number, t: number, n = 5): Array<{ u: number; p: number }> {
  const keys: Array<{ u: number; p: number }> = [];
  for (let u = 0; u <= t && u < map.T; u++) {
    const p = probabilityAt(map, head, t, u);
    if (p > 0) keys.push({ u, p });
  }
  return keys.sort((a, b) => b.p - a.p || a.u - b.u).slice(0, n);
}
