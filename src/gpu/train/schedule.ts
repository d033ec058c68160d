// Learning-rate schedule: linear warm-up, then cosine decay to lr · minLrFactor; and the
// parameter-group rates of the training protocols (a rate of 0 freezes a group).

import type { TrainConfig } from './protocol.ts';

export function warmupCosine(
  step: number,
  total: number,
  peak: number,
  warmup: number,
  minFactor: number,
): number {
  if (peak === 0) return 0;
  if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup);
  const progress = Math.min(1, Math.max(0, (step - warmup) / span));
  const floor = peak * minFactor;
  return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
}

export interface GroupRates {
  base: number;
  rosa: number;
  /** 'A' during the adapter-only stage of a two-stage run. */
  stage: 'A' | 'B' | 'single';
}

/** Learning rates of the base model and of the ROSA adapter at `step`. */
export function groupRates(train: TrainConfig, step: number): GroupRates {
  const { steps, lr, rosaLr, warmupSteps, minLrFactor, protocol, stageASteps } = train;
  if (protocol === 'all') {
    return {
      base: warmupCosine(step, steps, lr, warmupSteps, minLrFactor),
      rosa: warmupCosine(step, steps, rosaLr, warmupSteps, minLrFactor),
      stage: 'single',
    };
  }
  if (protocol === 'adapter-only') {
    return { base: 0, rosa: warmupCosine(step, steps, rosaLr, warmupSteps, minLrFactor), stage: 'single' };
  }
  // two-stage as in the paper: the adapter alone, then everything with the base at its own, much
  // smaller rate (baseLr; the paper: 5e-6 against 1e-4 for ROSA), each stage with a fresh warm-up.
  const a = Math.min(stageASteps, steps);
  if (step < a) return { base: 0, rosa: warmupCosine(step, a, rosaLr, warmupSteps, minLrFactor), stage: 'A' };
  const s = step - a;
  const rest = steps - a;
  return {
    base: warmupCosine(s, rest, train.baseLr, warmupSteps, minLrFactor),
    rosa: warmupCosine(s, rest, rosaLr, warmupSteps, minLrFactor),
    stage: 'B',
  };
}

/** Where the sequence-length warm-up starts: short enough that attention finds things by content fast. */
export const WARMUP_START_LENGTH = 16;

/**
 * Sequence length of the batch at `step` under the length warm-up (TrainConfig.lengthWarmup):
 * 16 tokens for the first half of the warm-up, then 32, 64, … (doubling, equal shares of the
 * second half) up to the full length.
 */
export function warmupLength(step: number, lengthWarmup: number, seqLen: number, minLength: number): number {
  const start = Math.min(seqLen, Math.max(minLength, WARMUP_START_LENGTH));
  if (!lengthWarmup || step >= lengthWarmup || start >= seqLen) return seqLen;
  const half = Math.floor(lengthWarmup / 2);
  if (step < half) return start;
  const lengths: number[] = [];
  for (let T = start * 2; T < seqLen; T *= 2) lengths.push(T);
  if (lengths.length === 0) return seqLen;
  const share = (lengthWarmup - half) / lengths.length;
  return lengths[Math.min(lengths.length - 1, Math.floor((step - half) / share))];
}
