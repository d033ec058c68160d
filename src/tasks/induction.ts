// Induction / copy: a random segment repeated, [filler][r1 … rn][r1 … rn]. The loss is on
// the second copy (at r_i predict r_{i+1}), which only a model that can look back n tokens
// (or retrieve the earlier occurrence) gets right.

import { randInt, streamFor } from './seeded.ts';
import { requireInt, type Split, type TaskBatch, type TaskGenerator, type Vocabulary } from './types.ts';

export interface InductionOptions {
  seqLen: number;
  vocabSize: number;
  /** Length n of the repeated segment (2n ≤ seqLen). */
  segment: number;
  seed?: number;
}

export class InductionTask implements TaskGenerator {
  readonly name = 'induction';
  readonly vocab: Vocabulary;
  readonly seqLen: number;
  readonly variableLength = false;
  get minLength(): number {
    return this.seqLen;
  }
  private readonly V: number;
  private readonly n: number;
  private readonly seed: number;

  constructor(options: InductionOptions) {
    this.seqLen = requireInt('seqLen', options.seqLen, 4, 1 << 16);
    this.V = requireInt('vocabSize', options.vocabSize, 2, 1 << 16);
    this.n = requireInt('segment', options.segment, 2, Math.floor(this.seqLen / 2));
    this.seed = options.seed ?? 0;
    this.vocab = { size: this.V, decode: (id: number) => `t${id}` };
  }

  batch(split: Split, index: number, B: number): TaskBatch {
    const T = this.seqLen;
    const n = this.n;
    const tokens = new Int32Array(B * T);
    const targets = new Int32Array(B * T).fill(-1);
    for (let b = 0; b < B; b++) {
      const r = streamFor(this.seed, split, index * B + b, 0x1dc);
      const row = b * T;
      const start = T - 2 * n;
      for (let t = 0; t < start; t++) tokens[row + t] = randInt(r, this.V);
      for (let i = 0; i < n; i++) {
        const tok = randInt(r, this.V);
        tokens[row + start + i] = tok;
        tokens[row + start + n + i] = tok;
      }
      for (let i = 0; i < n - 1; i++) targets[row + start + n + i] = tokens[row + start + i + 1];
    }
    return { B, T, tokens, targets };
  }
}
