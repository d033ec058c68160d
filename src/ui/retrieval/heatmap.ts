// Preparing a RetrievalMap for display: which earlier position each query position
// retrieved (one route or all routes aggregated), rasterised to at most `maxCells` cells a
// side; the band attention can see from each query (t−W+1 … t); hover details and contexts.

import type { RetrievalMap } from '../../gpu/train/protocol.ts';

export type RouteSelection = number | 'all';

export interface Raster {
  /** Query positions (rows) and keys (columns) per side. */
  cells: number;
  T: number;
  /** Retrieval counts, row-major [row = query cell][column = retrieved cell]. */
  grid: Float32Array;
  max: number;
}

/** The cell a position falls in when T positions are drawn in `cells` cells. */
export function cellOf(pos: number, T: number, cells: number): number {
  return Math.min(cells - 1, Math.floor((pos * cells) / T));
}

/** First position of a cell. */
export function positionOfCell(cell: number, T: number, cells: number): number {
  return Math.min(T - 1, Math.ceil((cell * T) / cells));
}

function routesOf(map: RetrievalMap, route: RouteSelection): number[] {
  if (route === 'all') return Array.from({ length: map.routes }, (_, r) => r);
  if (!Number.isInteger(route) || route < 0 || route >= map.routes) {
    throw new RangeError(`route ${route} does not exist (this layer has ${map.routes} routes)`);
  }
  return [route];
}

export function rasterize(map: RetrievalMap, route: RouteSelection, maxCells = 512): Raster {
  const { T } = map;
  const cells = Math.max(1, Math.min(T, maxCells));
  const grid = new Float32Array(cells * cells);
  let max = 0;
  for (const r of routesOf(map, route)) {
    const base = r * T;
    for (let t = 0; t < T; t++) {
      const d = map.dest[base + t];
      if (d < 0 || d >= T) continue;
      const i = cellOf(t, T, cells) * cells + cellOf(d, T, cells);
      grid[i] += 1;
      if (grid[i] > max) max = grid[i];
    }
  }
  return { cells, T, grid, max };
}

/** Keys attention sees from query t: t−W+1 … t (all of 0 … t when global or W ≥ T). */
export function windowBand(
  t: number,
  map: Pick<RetrievalMap, 'window' | 'attention' | 'T'>,
): { from: number; to: number } {
  if (map.attention === 'global' || map.window >= map.T) return { from: 0, to: t };
  return { from: Math.max(0, t - map.window + 1), to: t };
}

export interface RetrievalStats {
  /** Query positions with at least one retrieval (over the selected routes). */
  queriesWithRetrieval: number;
  retrievals: number;
  /** Retrievals of positions attention cannot see from the query (before t−W+1). */
  beyondWindow: number;
  meanDistance: number;
}

export function retrievalStats(map: RetrievalMap, route: RouteSelection): RetrievalStats {
  const routes = routesOf(map, route);
  let retrievals = 0;
  let beyondWindow = 0;
  let distance = 0;
  let queries = 0;
  for (let t = 0; t < map.T; t++) {
    const band = windowBand(t, map);
    let any = false;
    for (const r of routes) {
      const d = map.dest[r * map.T + t];
      if (d < 0) continue;
      any = true;
      retrievals++;
      distance += t - d;
      if (d < band.from) beyondWindow++;
    }
    if (any) queries++;
  }
  return {
    queriesWithRetrieval: queries,
    retrievals,
    beyondWindow,
    meanDistance: retrievals > 0 ? distance / retrievals : 0,
  };
}

/** The positions query t retrieved, each with the routes that retrieved it (latest first). */
export function retrievalsAt(
  map: RetrievalMap,
  t: number,
  route: RouteSelection,
): Array<{ dest: number; routes: number[] }> {
  const by = new Map<number, number[]>();
  for (const r of routesOf(map, route)) {
    const d = map.dest[r * map.T + t];
    if (d < 0) continue;
    const list = by.get(d) ?? [];
    list.push(r);
    by.set(d, list);
  }
  return [...by.entries()].sort((a, b) => b[0] - a[0]).map(([dest, routes]) => ({ dest, routes }));
}

/** Visible form of a token: spaces and line breaks shown as symbols. */
export function showToken(token: string): string {
  if (token === ' ') return '␣';
  if (token === '\n') return '⏎';
  if (token === '\t') return '⇥';
  return token;
}

export function ellipsize(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

export interface Context {
  before: string;
  at: string;
  after: string;
}

/** Tokens around `pos` (as text; characters are joined, multi-character tokens spaced). */
export function contextAround(
  tokens: readonly string[],
  pos: number,
  before: number,
  after: number,
): Context {
  const join = (list: readonly string[]) =>
    list.every((t) => [...t].length <= 1) ? list.join('') : list.join(' ');
  const from = Math.max(0, pos - before);
  const to = Math.min(tokens.length, pos + after + 1);
  return {
    before: (from > 0 ? '…' : '') + join(tokens.slice(from, pos)),
    at: tokens[pos] ?? '',
    after: join(tokens.slice(pos + 1, to)) + (to < tokens.length ? '…' : ''),
  };
}

/** Which positions get an axis label: all when they fit, else evenly spaced ones. */
export function axisTicks(T: number, maxLabels: number): number[] {
  if (T <= maxLabels) return Array.from({ length: T }, (_, i) => i);
  const step = Math.ceil(T / maxLabels);
  const out: number[] = [];
  for (let t = 0; t < T; t += step) out.push(t);
  return out;
}
