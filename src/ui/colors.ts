// One colour family per variant, so the same variant looks the same across experiments;
// later experiments get lighter or darker shades of it.

import type { Variant } from '../gpu/model/config.ts';

export const VARIANT_SHADES: Record<Variant, string[]> = {
  global: ['#60a5fa', '#93c5fd', '#2563eb', '#bfdbfe'],
  window: ['#f87171', '#fca5a5', '#dc2626', '#fecaca'],
  'window+rosa': ['#f97316', '#fdba74', '#c2410c', '#fed7aa'],
  lrsa: ['#a78bfa', '#c4b5fd', '#7c3aed', '#ddd6fe'],
  'lrsa+rosa': ['#34d399', '#6ee7b7', '#059669', '#a7f3d0'],
};

export const STEP_TIMING_COLORS = {
  forward: '#60a5fa',
  waiting: '#f87171',
  backward: '#a78bfa',
  optimizer: '#34d399',
  other: '#4b5563',
};

/** Colour of each run: the n-th run of a variant gets the n-th shade. */
export function runColors(runs: Array<{ id: string; variant: Variant }>): Record<string, string> {
  const seen: Partial<Record<Variant, number>> = {};
  const out: Record<string, string> = {};
  for (const r of runs) {
    const n = seen[r.variant] ?? 0;
    seen[r.variant] = n + 1;
    const shades = VARIANT_SHADES[r.variant] ?? ['#e6e8ee'];
    out[r.id] = shades[n % shades.length];
  }
  return out;
}
