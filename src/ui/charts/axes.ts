// Scales, ticks and SVG paths for the live curve charts. Pure functions: the chart component
// only lays out what these return, so a refresh costs a few string joins, not a chart library's
// layout pass (the point of drawing the live curves ourselves: no main-thread task over 50 ms).

import type { XY } from './data.ts';

export interface Extent {
  min: number;
  max: number;
}

/** Smallest and largest finite value of `pick` over all points (positive only when `positive`). */
export function extentOf(
  lines: ReadonlyArray<{ points: readonly XY[] }>,
  pick: (p: XY) => number,
  positive = false,
): Extent | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const l of lines) {
    for (const p of l.points) {
      const v = pick(p);
      if (!Number.isFinite(v) || (positive && v <= 0)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? { min, max } : null;
}

/** A "nice" step (1, 2 or 5 × 10^k) that cuts `span` into about `count` parts. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const ratio = raw / power;
  const factor = ratio >= 7.5 ? 10 : ratio >= 3.5 ? 5 : ratio >= 1.5 ? 2 : 1;
  return factor * power;
}

/** The extent widened to whole steps, so the axis starts and ends on a tick. */
export function niceDomain(extent: Extent, count: number): Extent {
  let { min, max } = extent;
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, count);
  return { min: Math.floor(min / step) * step, max: Math.ceil(max / step) * step };
}

/** Ticks at whole multiples of a nice step (at least `minStep`) inside the domain. */
export function linearTicks(domain: Extent, count: number, minStep = 0): number[] {
  const step = Math.max(minStep, niceStep(domain.max - domain.min, count));
  const ticks: number[] = [];
  const first = Math.ceil(domain.min / step - 1e-9);
  for (let i = first; i * step <= domain.max + step * 1e-9; i++) {
    // Multiplying (not accumulating) keeps 0.1 · 3 from drifting into the labels.
    ticks.push(Number((i * step).toPrecision(12)));
    if (ticks.length > 100) break;
  }
  return ticks;
}

/** A log domain padded by a few percent each way (positive extents only). */
export function logDomain(extent: Extent): Extent {
  const lo = Math.log10(extent.min);
  const hi = Math.log10(extent.max);
  const pad = Math.max(0.05, (hi - lo) * 0.04);
  return { min: 10 ** (lo - pad), max: 10 ** (hi + pad) };
}

/** 1-2-5 ticks per decade inside a log domain; plain decades when there would be too many. */
export function logTicks(domain: Extent, maxTicks = 8): number[] {
  const lo = Math.floor(Math.log10(domain.min));
  const hi = Math.ceil(Math.log10(domain.max));
  const inside = (v: number) => v >= domain.min * (1 - 1e-9) && v <= domain.max * (1 + 1e-9);
  for (const mantissas of [[1, 2, 5], [1]]) {
    const ticks: number[] = [];
    for (let k = lo; k <= hi; k++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** k).toPrecision(12));
        if (inside(v)) ticks.push(v);
      }
    }
    if (ticks.length <= maxTicks && ticks.length >= 2) return ticks;
    if (mantissas.length === 1 && ticks.length > maxTicks) {
      const every = Math.ceil(ticks.length / maxTicks);
      return ticks.filter((_, i) => i % every === 0);
    }
  }
  // Less than one 1-2-5 step inside: fall back to linear ticks, which stay positive here.
  return linearTicks(domain, 4).filter((v) => v > 0);
}

/** Maps a domain onto pixels [r0, r1] (r1 < r0 for a y axis), linearly or in log10. */
export function makeScale(domain: Extent, r0: number, r1: number, log = false): (v: number) => number {
  const f = log ? Math.log10 : (v: number) => v;
  const d0 = f(domain.min);
  const span = f(domain.max) - d0 || 1;
  return (v) => r0 + ((f(v) - d0) / span) * (r1 - r0);
}

/** An SVG path through the points, with coordinates rounded to 0.1 px (shorter strings). */
export function linePath(
  points: readonly XY[],
  sx: (v: number) => number,
  sy: (v: number) => number,
): string {
  let d = '';
  for (let i = 0; i < points.length; i++) {
    const x = Math.round(sx(points[i].x) * 10) / 10;
    const y = Math.round(sy(points[i].y) * 10) / 10;
    d += `${i === 0 ? 'M' : 'L'}${x} ${y}`;
  }
  return d;
}

/** A closed SVG area between the band's upper and lower edges (the min–max band over seeds). */
export function bandPath(
  band: ReadonlyArray<{ x: number; lo: number; hi: number }>,
  sx: (v: number) => number,
  sy: (v: number) => number,
): string {
  if (band.length < 2) return '';
  const upper = linePath(
    band.map((b) => ({ x: b.x, y: b.hi })),
    sx,
    sy,
  );
  const lower = linePath(
    [...band].reverse().map((b) => ({ x: b.x, y: b.lo })),
    sx,
    sy,
  );
  return `${upper}L${lower.slice(1)}Z`;
}

/** Index of the point whose x is nearest to `x` (points sorted by x), or -1 for none. */
export function nearestIndex(points: readonly XY[], x: number): number {
  if (points.length === 0) return -1;
  let lo = 0;
  let hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].x < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && x - points[lo - 1].x <= points[lo].x - x) return lo - 1;
  return lo;
}
