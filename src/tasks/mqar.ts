// Multi-query associative recall (Zoology's MQAR, docs/evaluation.md §2a):
//   k1 v1 k2 v2 … kD vD | query region where every key appears once at an even offset 2g,
// followed by its value. The loss is on the query keys (predict the paired value).
// Keys come from [1, V/2), values from [V/2, V); token 0 is filler unless random filler is on.

import { type Rng, randInt, streamFor } from './seeded.ts';
import {
  requireInt,
  type Split,
  type TaskBatch,
  TaskConfigError,
  type TaskGenerator,
  type Vocabulary,
} from './types.ts';

export interface MqarOptions {
  seqLen: number;
  vocabSize: number;
  /** Number of key-value pairs D (2·D·2 ≤ seqLen). */
  pairs: number;
  /** 'power' (Zoology, p(g) ∝ a·(g+1)^(a−1), a = powerA) or 'uniform' gaps. */
  gaps?: 'power' | 'uniform';
  powerA?: number;
  /** Random non-query tokens instead of 0 in the query region. */
  randomFiller?: boolean;
  seed?: number;
}

/** Draws `count` distinct values from [0, n) with weights w (sequential weighted sampling without replacement). */
function sampleWithoutReplacement(r: Rng, weights: Float64Array, count: number): number[] {
  const w = Float64Array.from(weights);
  let total = w.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  for (let c = 0; c < count; c++) {
    let x = r() * total;
    let i = 0;
    for (; i < w.length - 1; i++) {
      x -= w[i];
      if (x < 0) break;
    }
    while (w[i] === 0) i = (i + 1) % w.length;
    out.push(i);
    total -= w[i];
    w[i] = 0;
  }
  return out;
}

export class MqarTask implements TaskGenerator {
  readonly name = 'mqar';
  readonly vocab: Vocabulary;
  readonly seqLen: number;
  readonly variableLength = false;
  get minLength(): number {
    return this.seqLen;
  }
  private readonly options: Required<MqarOptions>;
  private readonly gapWeights: Float64Array;

  constructor(options: MqarOptions) {
    this.seqLen = requireInt('seqLen', options.seqLen, 8, 1 << 16);
    if (this.seqLen % 2 !== 0)
      throw new TaskConfigError('seqLen', `must be even for MQAR (got ${this.seqLen})`);
    const V = requireInt('vocabSize', options.vocabSize, 8, 1 << 16);
    const D = requireInt('pairs', options.pairs, 1, Math.floor(this.seqLen / 4));
    if (D > Math.floor(V / 2) - 1)
      throw new TaskConfigError('pairs', `at most ${Math.floor(V / 2) - 1} keys fit in vocabulary ${V}`);
    this.options = {
      seqLen: this.seqLen,
      vocabSize: V,
      pairs: D,
      gaps: options.gaps ?? 'power',
      powerA: options.powerA ?? 0.01,
      randomFiller: options.randomFiller ?? false,
      seed: options.seed ?? 0,
    };
    const slots = (this.seqLen - 2 * D) / 2;
    this.gapWeights = new Float64Array(slots);
    const a = this.options.gaps === 'uniform' ? 1 : this.options.powerA;
    for (let g = 0; g < slots; g++) this.gapWeights[g] = a * (g + 1) ** (a - 1);
    this.vocab = {
      size: V,
      decode: (id: number) => (id === 0 ? '·' : id < V / 2 ? `k${id}` : `v${id - Math.floor(V / 2)}`),
    };
  }

  sample(split: Split, index: number): { tokens: Int32Array; targets: Int32Array } {
    const { vocabSize: V, pairs: D, randomFiller, seed } = this.options;
    const T = this.seqLen;
    const r = streamFor(seed, split, index, 0x3a9);
    const half = Math.floor(V / 2);
    const keys = sampleWithoutReplacement(r, new Float64Array(half - 1).fill(1), D).map((k) => k + 1);
    const values = sampleWithoutReplacement(r, new Float64Array(V - half).fill(1), D).map((v) => v + half);
    const tokens = new Int32Array(T);
    const targets = new Int32Array(T).fill(-1);
    for (let i = 0; i < D; i++) {
      tokens[2 * i] = keys[i];
      tokens[2 * i + 1] = values[i];
    }
    if (randomFiller) for (let t = 2 * D; t < T; t++) tokens[t] = randInt(r, V);
    const gaps = sampleWithoutReplacement(r, this.gapWeights, D);
    for (let i = 0; i < D; i++) {
      const at = 2 * D + 2 * gaps[i];
      tokens[at] = keys[i];
      tokens[at + 1] = values[i];
      targets[at] = values[i];
    }
    return { tokens, targets };
  }

  batch(split: Split, index: number, B: number): TaskBatch {
    const T = this.seqLen;
    const tokens = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const s = this.sample(split, index * B + b);
      tokens.set(s.tokens, b * T);
      targets.set(s.targets, b * T);
    }
    return { B, T, tokens, targets };
  }
}
