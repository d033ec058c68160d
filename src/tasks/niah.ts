// Needle in a haystack (passkey retrieval) for tiny models, in the shape of the classic
// passkey prompt ("The pass key is 12345 … What is the pass key? The pass key is"):
//   …filler… ⟨K⟩ d1 … dn …filler… ⟨Q⟩ ⟨K⟩ d1 … dn
// ⟨K⟩ stands for "The pass key is", ⟨Q⟩ for the question. The loss (and the score) covers only
// the answer: at the second ⟨K⟩ predict d1, at d_i predict d_{i+1}. Exact match under teacher
// forcing equals greedy exact match (the inputs are the key).

import {
  DIGIT_TOKENS,
  encodeAscii,
  LETTER_FILLER_TOKENS,
  NEEDLE_MARKER,
  passkeyVocab,
  QUERY_MARKER,
  RANDOM_FILLER_TOKENS,
} from './passkey-vocab.ts';
import { type Rng, randInt, streamFor } from './seeded.ts';
import { requireInt, type Split, type TaskBatch, TaskConfigError, type TaskGenerator } from './types.ts';

export interface NiahOptions {
  seqLen: number;
  /** Digits in the key (1..8). */
  keyLength?: number;
  /**
   * 'random': letters, space and digits; 'letters': letters and space (the key is the only
   * number in the haystack, as with a magic number hidden in an essay); 'repeat': the passkey paper's garbage sentences
   * repeated from a random offset; 'copy': a random segment of 12–24 distinct characters repeated
   * (with loss 'all', every repeat teaches copying from far back, which is the skill the
   * answer needs); 'corpus': slices of `corpus` text.
   */
  filler?: NiahFiller;
  /**
   * 'answer': the loss covers the answer only. 'all': next-token loss everywhere (the filler
   * teaches copying, the way induction heads form on natural text); the score is still the answer.
   */
  loss?: 'answer' | 'all';
  corpus?: string;
  seed?: number;
  /** Fixed needle depth in [0, 1] (0 = start of the haystack, 1 = just before the query); random when absent. */
  depth?: number;
}

export type NiahFiller = 'random' | 'letters' | 'repeat' | 'copy' | 'corpus';

/** The filler of Mohtashami & Jaggi's passkey test. */
export const REPEAT_FILLER =
  'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. ';

export interface NiahSample {
  tokens: Int32Array;
  /** Training targets ('answer': the key only; 'all': every next token). */
  targets: Int32Array;
  /** The key only: what NIAH accuracy scores. */
  answerTargets: Int32Array;
  needlePos: number;
  queryPos: number;
  key: number[];
}

export interface NiahLayout {
  T: number;
  keyLength: number;
  queryPos: number;
  /** Largest needle-marker position (needle right before the query); the query marker is at queryPos. */
  maxNeedlePos: number;
}

/** Shortest sequence that holds a needle and a query for a key of `keyLength` digits. */
export function niahMinLength(keyLength: number): number {
  return 2 * keyLength + 3;
}

export function niahLayout(T: number, keyLength: number): NiahLayout {
  const queryPos = T - 2 - keyLength;
  const maxNeedlePos = queryPos - keyLength - 1;
  if (maxNeedlePos < 0) {
    throw new TaskConfigError(
      'seqLen',
      `must be at least ${niahMinLength(keyLength)} for a key of ${keyLength} digits (got ${T})`,
    );
  }
  return { T, keyLength, queryPos, maxNeedlePos };
}

/** Needle position for a depth in [0, 1]. */
export function needlePosForDepth(layout: NiahLayout, depth: number): number {
  return Math.round(Math.min(1, Math.max(0, depth)) * layout.maxNeedlePos);
}

/** Needle position whose marker lies `distance` tokens before the query marker. */
export function needlePosForDistance(layout: NiahLayout, distance: number): number {
  const pos = layout.queryPos - distance;
  if (pos < 0 || pos > layout.maxNeedlePos) {
    throw new TaskConfigError(
      'distance',
      `must be between ${layout.queryPos - layout.maxNeedlePos} and ${layout.queryPos} for T = ${layout.T}`,
    );
  }
  return pos;
}

const REPEAT_TOKENS = encodeAscii(REPEAT_FILLER);

function fillHaystack(out: Int32Array, r: Rng, filler: NiahFiller, corpus: Int32Array | null): void {
  if (filler === 'copy') {
    // Distinct tokens within the segment, so the token after the previous occurrence of the
    // current one is always the right guess (what an induction head learns).
    const period = 12 + randInt(r, 13);
    const pool = RANDOM_FILLER_TOKENS.slice();
    for (let i = pool.length - 1; i > 0; i--) {
      const j = randInt(r, i + 1);
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    const segment = pool.slice(0, period);
    for (let i = 0; i < out.length; i++) out[i] = segment[i % period];
  } else if (filler === 'repeat') {
    const start = randInt(r, REPEAT_TOKENS.length);
    for (let i = 0; i < out.length; i++) out[i] = REPEAT_TOKENS[(start + i) % REPEAT_TOKENS.length];
  } else if (filler === 'corpus' && corpus) {
    const start = randInt(r, Math.max(1, corpus.length - out.length));
    for (let i = 0; i < out.length; i++) out[i] = corpus[(start + i) % corpus.length];
  } else {
    const alphabet = filler === 'letters' ? LETTER_FILLER_TOKENS : RANDOM_FILLER_TOKENS;
    for (let i = 0; i < out.length; i++) out[i] = alphabet[randInt(r, alphabet.length)];
  }
}

/**
 * Writes the needle (⟨K⟩ key at needlePos) and the query with its answer (⟨Q⟩ ⟨K⟩ key at
 * queryPos) over `tokens`, a haystack of layout.T tokens.
 */
function placeNeedleAndQuery(tokens: Int32Array, layout: NiahLayout, needlePos: number, key: number[]): void {
  const { keyLength, queryPos } = layout;
  tokens[needlePos] = NEEDLE_MARKER;
  for (let i = 0; i < keyLength; i++) tokens[needlePos + 1 + i] = key[i];
  tokens[queryPos] = QUERY_MARKER;
  tokens[queryPos + 1] = NEEDLE_MARKER;
  for (let i = 0; i < keyLength; i++) tokens[queryPos + 2 + i] = key[i];
}

export interface NiahPrompt {
  /** Haystack with the needle, then ⟨Q⟩ ⟨K⟩: the model's answer comes next. */
  tokens: Int32Array;
  needlePos: number;
  queryPos: number;
}

/**
 * A given haystack laid out as a NIAH sample (niahLayout), with the needle inserted at `depth`
 * of it rather than written over filler, and without the answer.
 */
export function niahPrompt(haystack: Int32Array, key: number[], depth: number): NiahPrompt {
  const keyLength = key.length;
  const layout = niahLayout(haystack.length + 2 * keyLength + 3, keyLength);
  const needlePos = needlePosForDepth(layout, depth);
  const tokens = new Int32Array(layout.T);
  tokens.set(haystack.subarray(0, needlePos), 0);
  tokens.set(haystack.subarray(needlePos), needlePos + 1 + keyLength);
  placeNeedleAndQuery(tokens, layout, needlePos, key);
  return { tokens: tokens.slice(0, layout.queryPos + 2), needlePos, queryPos: layout.queryPos };
}

export function makeNiahSample(
  r: Rng,
  layout: NiahLayout,
  needlePos: number,
  filler: NiahFiller = 'random',
  corpus: Int32Array | null = null,
  key?: number[],
  loss: 'answer' | 'all' = 'answer',
): NiahSample {
  const { T, keyLength, queryPos } = layout;
  const tokens = new Int32Array(T);
  const targets = new Int32Array(T).fill(-1);
  fillHaystack(tokens, r, filler, corpus);
  const digits = key ?? Array.from({ length: keyLength }, () => DIGIT_TOKENS[randInt(r, 10)]);
  placeNeedleAndQuery(tokens, layout, needlePos, digits);
  for (let i = 0; i < keyLength; i++) targets[queryPos + 1 + i] = digits[i];
  const answerTargets = targets.slice();
  if (loss === 'all') for (let t = 0; t + 1 < T; t++) targets[t] = tokens[t + 1];
  return { tokens, targets, answerTargets, needlePos, queryPos, key: digits };
}

export class NiahTask implements TaskGenerator {
  readonly name = 'niah';
  readonly vocab = passkeyVocab;
  readonly seqLen: number;
  readonly variableLength = true;
  readonly keyLength: number;
  get minLength(): number {
    return niahMinLength(this.keyLength);
  }
  private readonly filler: NiahFiller;
  private readonly loss: 'answer' | 'all';
  private readonly corpus: Int32Array | null;
  private readonly seed: number;
  private readonly depth: number | undefined;

  constructor(options: NiahOptions) {
    this.seqLen = requireInt('seqLen', options.seqLen, 8, 1 << 16);
    this.keyLength = requireInt('keyLength', options.keyLength ?? 2, 1, 8);
    this.filler = options.filler ?? 'random';
    this.loss = options.loss ?? 'answer';
    if (this.filler === 'corpus' && !options.corpus)
      throw new TaskConfigError('corpus', 'corpus filler needs a text');
    this.corpus = options.corpus ? encodeAscii(options.corpus) : null;
    this.seed = options.seed ?? 0;
    this.depth = options.depth;
    niahLayout(this.seqLen, this.keyLength);
  }

  sample(split: Split, index: number, T = this.seqLen, needlePos?: number): NiahSample {
    const r = streamFor(this.seed, split, index, 0x41a);
    const layout = niahLayout(T, this.keyLength);
    const depth = this.depth ?? r();
    return makeNiahSample(
      r,
      layout,
      needlePos ?? needlePosForDepth(layout, depth),
      this.filler,
      this.corpus,
      undefined,
      this.loss,
    );
  }

  batch(split: Split, index: number, B: number, T = this.seqLen): TaskBatch {
    const tokens = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const s = this.sample(split, index * B + b, T);
      tokens.set(s.tokens, b * T);
      targets.set(s.targets, b * T);
    }
    return { B, T, tokens, targets };
  }

  /** Validation samples with the needle marker exactly `distance` tokens before the query. */
  atDistance(distance: number, count: number, T = this.seqLen): NiahSample[] {
    const layout = niahLayout(T, this.keyLength);
    const pos = needlePosForDistance(layout, distance);
    return Array.from({ length: count }, (_, i) => {
      const r = streamFor(this.seed, 'validation', i, 0xd157 + distance);
      return makeNiahSample(r, layout, pos, this.filler, this.corpus, undefined, this.loss);
    });
  }

  /** Validation samples for one cell of the (context length × depth) grid. */
  atDepth(T: number, depth: number, count: number): NiahSample[] {
    const layout = niahLayout(T, this.keyLength);
    const pos = needlePosForDepth(layout, depth);
    return Array.from({ length: count }, (_, i) => {
      const r = streamFor(this.seed, 'validation', i, 0xde97 + Math.round(depth * 1000) + T * 7919);
      return makeNiahSample(r, layout, pos, this.filler, this.corpus, undefined, this.loss);
    });
  }
}

/** Stacks samples of one length into a batch. */
export function stackSamples(samples: Array<{ tokens: Int32Array; targets: Int32Array }>): TaskBatch {
  const B = samples.length;
  const T = samples[0]?.tokens.length ?? 0;
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  samples.forEach((s, b) => {
    if (s.tokens.length !== T)
      throw new TaskConfigError('samples', 'all samples of a batch must have the same length');
    tokens.set(s.tokens, b * T);
    targets.set(s.targets, b * T);
  });
  return { B, T, tokens, targets };
}
