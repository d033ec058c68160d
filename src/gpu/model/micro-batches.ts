// A training batch split into micro-batches whose forward passes interleave: while one part's
// ROSA symbols are scanned on the CPU, the next part's layers are recorded and run on the GPU
// (docs/design.md, "asynchronous pipeline"). Gradients of the parts accumulate into one step.

import type { LossPart } from './backend.ts';

/** One micro-batch: its rows of tokens and labels and its share of the batch's loss. */
export interface MicroBatch {
  tokens: Int32Array;
  labels: Int32Array | null;
  loss: LossPart;
}

function labelledCount(labels: Int32Array): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) n++;
  return n;
}

/**
 * Splits [B, T] tokens (and labels) into `parts` micro-batches of B / parts sequences. Each
 * part's loss gradient is scaled by its share of the labelled positions, so the parts'
 * gradients sum to the gradient of the whole batch's mean loss.
 */
export function splitBatch(
  tokens: Int32Array,
  labels: Int32Array | null,
  B: number,
  T: number,
  parts: number,
): MicroBatch[] {
  if (!Number.isInteger(parts) || parts < 1 || B % parts !== 0) {
    throw new Error(`forward: a batch of ${B} sequences does not split into ${parts} equal micro-batches`);
  }
  const rows = (B / parts) * T;
  const total = labels ? labelledCount(labels) : 0;
  return Array.from({ length: parts }, (_, part) => {
    const partLabels = labels ? labels.subarray(part * rows, (part + 1) * rows) : null;
    const gradScale = parts === 1 || !partLabels ? 1 : labelledCount(partLabels) / Math.max(total, 1);
    return {
      tokens: tokens.subarray(part * rows, (part + 1) * rows),
      labels: partLabels,
      loss: { gradScale, part, parts },
    };
  });
}

/**
 * Time during which every unfinished part waited for its scan: the host had nothing left to
 * record. With one part it is that part's waiting time.
 */
export class IdleClock {
  total = 0;
  private waiting = 0;
  private active: number;
  private since = 0;

  constructor(parts: number) {
    this.active = parts;
  }

  private get idle(): boolean {
    return this.active > 0 && this.waiting === this.active;
  }

  private change(update: () => void): void {
    const before = this.idle;
    update();
    const after = this.idle;
    if (!before && after) this.since = performance.now();
    if (before && !after) this.total += performance.now() - this.since;
  }

  /** Awaits `promise` as one part's wait. */
  async wait<T>(promise: Promise<T>): Promise<T> {
    this.change(() => this.waiting++);
    try {
      return await promise;
    } finally {
      this.change(() => this.waiting--);
    }
  }

  /** A part has recorded all its work. */
  done(): void {
    this.change(() => this.active--);
  }
}
