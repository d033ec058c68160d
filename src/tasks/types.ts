// What every task generator produces: a batch of token ids and next-token targets.
// targets[i] = -1 means "no loss here" (filler in retrieval tasks, the last position, …).

export interface TaskBatch {
  /** Batch size. */
  B: number;
  /** Sequence length of this batch (≤ the model's maximum). */
  T: number;
  /** Token ids, [B][T] row-major. */
  tokens: Int32Array;
  /** Target ids, [B][T]; -1 = ignored by the loss. */
  targets: Int32Array;
  /** 1 where the target is predictable only from beyond a window (text repeat probe), [B][T]. */
  longContext?: Uint8Array;
}

export interface Vocabulary {
  size: number;
  /** Display text of one token (the UI puts these on heatmap axes). */
  decode(id: number): string;
}

export type Split = 'train' | 'validation';

export interface TaskGenerator {
  readonly name: string;
  readonly vocab: Vocabulary;
  /** Default sequence length the task was configured with. */
  readonly seqLen: number;
  /** A deterministic batch: the same (split, index) always gives the same data. */
  batch(split: Split, index: number, B: number, T?: number): TaskBatch;
  /** Whether batch() accepts a shorter T than seqLen (for a sequence-length warm-up). */
  readonly variableLength: boolean;
  /** Shortest T that batch() accepts. */
  readonly minLength: number;
}

export class TaskConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'TaskConfigError';
    this.field = field;
  }
}

export function requireInt(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TaskConfigError(field, `must be a whole number from ${min} to ${max} (got ${value})`);
  }
  return value;
}
