// Only finite numbers are saved. A run whose weights or AdamW moments hold NaN or ±∞ can
// not be resumed, and the checkpoint before it is the one to call "last good". Saving
// already reads every tensor back to encode it, so the check is one pass over that memory.

import { CheckpointError } from './errors.ts';

/** Thrown when a checkpoint would hold NaN or infinite values; nothing was written. */
export class NonFiniteCheckpointError extends CheckpointError {
  readonly tensor: string;
  constructor(tensor: string, value: number, index: number, step: number) {
    super(
      `not saved: tensor "${tensor}" holds ${value} (element ${index}) at step ${step}; the run's state is no longer usable`,
    );
    this.name = 'NonFiniteCheckpointError';
    this.tensor = tensor;
  }
}

/** Index of the first NaN or ±∞ in `data`, or −1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    // x − x is 0 for finite x and NaN for NaN and ±∞: one subtraction, no branch on the kind.
    if (data[i] - data[i] !== 0) return i;
  }
  return -1;
}

export function assertFinite(tensors: Iterable<[string, Float32Array]>, step: number): void {
  for (const [name, data] of tensors) {
    const at = firstNonFinite(data);
    if (at >= 0) throw new NonFiniteCheckpointError(name, data[at], at, step);
  }
}
