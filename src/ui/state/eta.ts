// Speed and time-left estimates of a run from the arrival times of its step events.

export interface RateState {
  /** Smoothed wall-clock milliseconds per training step; undefined until two steps were seen. */
  msPerStep?: number;
  /** Arrival time and index of the last step event while running. */
  lastAt?: number;
  lastStep?: number;
}

/** Weight of a new observation in the moving averages. */
export const RATE_ALPHA = 0.15;

/** Folds one step event (arrived at `at`, ms) into the rate; pauses must call `resetClock` first. */
export function observeStep(rate: RateState, step: number, at: number): RateState {
  let msPerStep = rate.msPerStep;
  if (rate.lastAt !== undefined && rate.lastStep !== undefined && step > rate.lastStep && at >= rate.lastAt) {
    const sample = (at - rate.lastAt) / (step - rate.lastStep);
    msPerStep = msPerStep === undefined ? sample : msPerStep + RATE_ALPHA * (sample - msPerStep);
  }
  return { msPerStep, lastAt: at, lastStep: step };
}

/** Forgets the last arrival (after a pause or a reload), keeping the learned speed. */
export function resetClock(rate: RateState): RateState {
  return { msPerStep: rate.msPerStep };
}

/** Milliseconds left, or null when unknown. `step` is the number of steps done. */
export function etaMs(rate: RateState, step: number, totalSteps: number): number | null {
  if (rate.msPerStep === undefined || totalSteps <= 0) return null;
  const left = Math.max(0, totalSteps - step);
  return left * rate.msPerStep;
}

export function smooth(previous: number | undefined, value: number, alpha = RATE_ALPHA): number {
  if (!Number.isFinite(value)) return previous ?? value;
  return previous === undefined || !Number.isFinite(previous) ? value : previous + alpha * (value - previous);
}
