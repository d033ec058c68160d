// Needle in a haystack (passkey retrieval) for tiny models, in the shape of the classic
// passkey prompt ("The pass key is 12345 … What is the pass key? The pass key is"):
//   …filler… ⟨K⟩ d1 … dn …filler… ⟨Q⟩ ⟨K⟩ d1 … dn
// ⟨K⟩ stands for "The pass key is", ⟨Q⟩ for the question. The loss (and the score) covers only
// the answer: at the second ⟨K⟩ predict d1, at d_i predict d_{i+1}. Exact match under teacher
// forcing equals greedy exact match (the inputs are the key).

import {
  CHAR_SPELLING,
  type NiahSpelling,
  needleLength,
  queryLength,
  tokenizerSpelling,
} from './niah-spelling.ts';
import { LETTER_FILLER_TOKENS, RANDOM_FILLER_TOKENS } from './passkey-vocab.ts';
import { type Rng, randInt, streamFor } from './seeded.ts';
import type { TextTokenizer } from './text.ts';
import {
  requireInt,
  type Split,
  type TaskBatch,
  TaskConfigError,
  type TaskGenerator,
  type Vocabulary,
} from './types.ts';

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
  /**
   * A base model's tokenizer: sentences instead of markers, and a natural-text haystack
   * (filler 'corpus' or 'repeat'). The task's own characters when absent.
   */
  tokenizer?: TextTokenizer;
}

/** Fillers that are natural text, the only ones a base model's tokens allow. */
export const TEXT_FILLERS: readonly NiahFiller[] = ['corpus', 'repeat'];

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
  /** First token of the needle (its ⟨K⟩). */
  needlePos: number;
  /** First key token in the needle. */
  keyPos: number;
  /** First token of the query (its ⟨Q⟩). */
  queryPos: number;
  key: number[];
}

export interface NiahLayout {
  T: number;
  keyLength: number;
  spelling: NiahSpelling;
  queryPos: number;
  /** Largest needle position (needle right before the query); the query starts at queryPos. */
  maxNeedlePos: number;
}

/** Shortest sequence that holds a needle and a query for a key of `keyLength` digits. */
export function niahMinLength(keyLength: number, spelling: NiahSpelling = CHAR_SPELLING): number {
  return needleLength(spelling, keyLength) + queryLength(spelling, keyLength);
}

export function niahLayout(T: number, keyLength: number, spelling: NiahSpelling = CHAR_SPELLING): NiahLayout {
  const queryPos = T - queryLength(spelling, keyLength);
  const maxNeedlePos = queryPos - needleLength(spelling, keyLength);
  if (maxNeedlePos < 0) {
    throw new TaskConfigError(
      'seqLen',
      `must be at least ${niahMinLength(keyLength, spelling)} for a key of ${keyLength} digits (got ${T})`,
    );
  }
  return { T, keyLength, spelling, queryPos, maxNeedlePos };
}

/** Position of the query's first answer token (its last input before the key is the needle's prefix). */
function answerPos(layout: NiahLayout): number {
  return layout.queryPos + layout.spelling.question.length + layout.spelling.needle.length;
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

/** A haystack's source: natural text tokens (corpus, repeat) or the character fillers. */
interface HaystackSource {
  filler: NiahFiller;
  /** The corpus, or the repeat filler's sentences, in the task's tokens. */
  text: Int32Array | null;
}

function fillHaystack(out: Int32Array, r: Rng, { filler, text }: HaystackSource): void {
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
  } else if (filler === 'repeat' && text) {
    const start = randInt(r, text.length);
    for (let i = 0; i < out.length; i++) out[i] = text[(start + i) % text.length];
  } else if (filler === 'corpus' && text) {
    const start = randInt(r, Math.max(1, text.length - out.length));
    for (let i = 0; i < out.length; i++) out[i] = text[(start + i) % text.length];
  } else {
    const alphabet = filler === 'letters' ? LETTER_FILLER_TOKENS : RANDOM_FILLER_TOKENS;
    for (let i = 0; i < out.length; i++) out[i] = alphabet[randInt(r, alphabet.length)];
  }
}

/**
 * Writes the needle (⟨K⟩ key end at needlePos) and the query with its answer (⟨Q⟩ ⟨K⟩ key at
 * queryPos) over `tokens`, a haystack of layout.T tokens. Returns the needle's key position.
 */
function placeNeedleAndQuery(
  tokens: Int32Array,
  layout: NiahLayout,
  needlePos: number,
  key: number[],
): number {
  const { needle, needleEnd, question } = layout.spelling;
  const keyPos = needlePos + needle.length;
  tokens.set(needle, needlePos);
  tokens.set(key, keyPos);
  tokens.set(needleEnd, keyPos + key.length);
  tokens.set(question, layout.queryPos);
  tokens.set(needle, layout.queryPos + question.length);
  tokens.set(key, answerPos(layout));
  return keyPos;
}

export interface NiahPrompt {
  /** Haystack with the needle, then ⟨Q⟩ ⟨K⟩: the model's answer comes next. */
  tokens: Int32Array;
  needlePos: number;
  keyPos: number;
  queryPos: number;
}

/**
 * A given haystack laid out as a NIAH sample (niahLayout), with the needle inserted at `depth`
 * of it rather than written over filler, and without the answer.
 */
export function niahPrompt(
  haystack: Int32Array,
  key: number[],
  depth: number,
  spelling: NiahSpelling = CHAR_SPELLING,
): NiahPrompt {
  const keyLength = key.length;
  const layout = niahLayout(haystack.length + niahMinLength(keyLength, spelling), keyLength, spelling);
  const needlePos = needlePosForDepth(layout, depth);
  const tokens = new Int32Array(layout.T);
  tokens.set(haystack.subarray(0, needlePos), 0);
  tokens.set(haystack.subarray(needlePos), needlePos + needleLength(spelling, keyLength));
  const keyPos = placeNeedleAndQuery(tokens, layout, needlePos, key);
  return { tokens: tokens.slice(0, answerPos(layout)), needlePos, keyPos, queryPos: layout.queryPos };
}

function makeNiahSample(
  r: Rng,
  layout: NiahLayout,
  needlePos: number,
  haystack: HaystackSource,
  loss: 'answer' | 'all',
): NiahSample {
  const { T, keyLength, queryPos } = layout;
  const tokens = new Int32Array(T);
  const targets = new Int32Array(T).fill(-1);
  fillHaystack(tokens, r, haystack);
  const digits = Array.from({ length: keyLength }, () => layout.spelling.digits[randInt(r, 10)]);
  const keyPos = placeNeedleAndQuery(tokens, layout, needlePos, digits);
  // The input before each answer token is the previous one (the needle's last prefix token first).
  const first = answerPos(layout);
  for (let i = 0; i < keyLength; i++) targets[first - 1 + i] = digits[i];
  const answerTargets = targets.slice();
  if (loss === 'all') for (let t = 0; t + 1 < T; t++) targets[t] = tokens[t + 1];
  return { tokens, targets, answerTargets, needlePos, keyPos, queryPos, key: digits };
}

export class NiahTask implements TaskGenerator {
  readonly name = 'niah';
  readonly vocab: Vocabulary;
  readonly spelling: NiahSpelling;
  readonly seqLen: number;
  readonly variableLength = true;
  readonly keyLength: number;
  get minLength(): number {
    return niahMinLength(this.keyLength, this.spelling);
  }
  private readonly haystack: HaystackSource;
  private readonly loss: 'answer' | 'all';
  private readonly seed: number;
  private readonly depth: number | undefined;

  constructor(options: NiahOptions) {
    this.seqLen = requireInt('seqLen', options.seqLen, 8, 1 << 16);
    this.keyLength = requireInt('keyLength', options.keyLength ?? 2, 1, 8);
    const filler = options.filler ?? 'random';
    this.loss = options.loss ?? 'answer';
    this.spelling = options.tokenizer ? tokenizerSpelling(options.tokenizer) : CHAR_SPELLING;
    this.vocab = this.spelling.vocab;
    if (this.spelling.tokenized && !TEXT_FILLERS.includes(filler)) {
      throw new TaskConfigError(
        'filler',
        `'${filler}' is not text: in a base model's tokens the haystack is natural text (${TEXT_FILLERS.join(' or ')})`,
      );
    }
    if (filler === 'corpus' && !options.corpus)
      throw new TaskConfigError('corpus', 'corpus filler needs a text');
    const text = filler === 'corpus' ? options.corpus! : filler === 'repeat' ? REPEAT_FILLER : null;
    this.haystack = { filler, text: text === null ? null : this.spelling.encode(text) };
    this.seed = options.seed ?? 0;
    this.depth = options.depth;
    this.layout(this.seqLen);
  }

  /** The layout of a sample of T tokens. */
  layout(T = this.seqLen): NiahLayout {
    return niahLayout(T, this.keyLength, this.spelling);
  }

  sample(split: Split, index: number, T = this.seqLen, needlePos?: number): NiahSample {
    const r = streamFor(this.seed, split, index, 0x41a);
    const layout = this.layout(T);
    const depth = this.depth ?? r();
    return makeNiahSample(r, layout, needlePos ?? needlePosForDepth(layout, depth), this.haystack, this.loss);
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
    const layout = this.layout(T);
    const pos = needlePosForDistance(layout, distance);
    return Array.from({ length: count }, (_, i) => {
      const r = streamFor(this.seed, 'validation', i, 0xd157 + distance);
      return makeNiahSample(r, layout, pos, this.haystack, this.loss);
    });
  }

  /** Validation samples for one cell of the (context length × depth) grid. */
  atDepth(T: number, depth: number, count: number): NiahSample[] {
    const layout = this.layout(T);
    const pos = needlePosForDepth(layout, depth);
    return Array.from({ length: count }, (_, i) => {
      const r = streamFor(this.seed, 'validation', i, 0xde97 + Math.round(depth * 1000) + T * 7919);
      return makeNiahSample(r, layout, pos, this.haystack, this.loss);
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
