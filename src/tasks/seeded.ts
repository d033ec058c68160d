// Deterministic streams: one generator per (seed, split, index), so batch k of a run is
// the same whatever happened before it (resume, evaluation order, other runs).

import { mixSeed, type Rng, rng } from '../common/random.ts';

export type { Rng };

export function streamFor(seed: number, split: 'train' | 'validation', index: number, salt = 0): Rng {
  return rng(mixSeed(seed, split === 'train' ? 1 : 2, index, salt));
}

export { randomInt as randInt } from '../common/random.ts';
