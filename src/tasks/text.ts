// Language modelling on a text (a public-domain corpus or the user's own). The vocabulary is the
// text's distinct characters (the most frequent ones when there are too many, the rest folded to
// one "unknown" token), or a pretrained model's tokenizer; the last part of the text is validation.

import { randInt, streamFor } from './seeded.ts';
import {
  requireInt,
  type Split,
  type TaskBatch,
  TaskConfigError,
  type TaskGenerator,
  type Vocabulary,
} from './types.ts';

/** Share of a text held out for validation (at its end). */
export const TEXT_VALIDATION_FRACTION = 0.1;

/** Characters a text needs so that its validation part holds one sequence of seqLen tokens. */
export function minTextLength(seqLen: number, validationFraction = TEXT_VALIDATION_FRACTION): number {
  return Math.ceil((seqLen + 1) / validationFraction);
}

export interface TextOptions {
  text: string;
  seqLen: number;
  /** Fraction of the text (at its end) held out for validation. */
  validationFraction?: number;
  maxVocab?: number;
  /** Tokens from a pretrained model's tokenizer instead of characters. */
  tokenizer?: TextTokenizer;
  seed?: number;
  /** Where the text came from, for messages. */
  source?: string;
  /**
   * Long-context probe: each sequence ends with a copy of its first `repeat` characters, so
   * those targets are predictable only by looking T − repeat tokens back (0: plain text).
   */
  repeat?: number;
}

/** A vocabulary that can spell a text. */
export interface TextVocabulary extends Vocabulary {
  encode(text: string): Int32Array;
}

export interface CharVocabulary extends TextVocabulary {
  chars: string[];
}

/** What a text task needs of a tokenizer (src/interop/tokenizer.ts is one). */
export interface TextTokenizer {
  size: number;
  encode(text: string): number[];
  tokenText(id: number): string;
}

function tokenizerVocabulary(tokenizer: TextTokenizer): TextVocabulary {
  return {
    size: tokenizer.size,
    decode: (id) => tokenizer.tokenText(id),
    encode: (text) => Int32Array.from(tokenizer.encode(text)),
  };
}

const UNKNOWN = '\u{FFFD}';

/** Rejects empty and binary input with a message that says what was wrong. */
export function checkUserText(text: string, source = 'text'): void {
  if (text.length === 0)
    throw new TaskConfigError(source, 'is empty: give at least a few thousand characters of text');
  let control = 0;
  const sample = Math.min(text.length, 100_000);
  for (let i = 0; i < sample; i++) {
    const c = text.charCodeAt(i);
    if (c === 0)
      throw new TaskConfigError(source, 'looks binary (it contains NUL bytes): upload plain UTF-8 text');
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 0xfffd) control++;
  }
  if (control / sample > 0.05) {
    throw new TaskConfigError(
      source,
      `looks binary (${((100 * control) / sample).toFixed(1)}% control or undecodable characters): upload plain UTF-8 text`,
    );
  }
}

export function buildCharVocabulary(text: string, maxVocab = 256): CharVocabulary {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let chars = [...counts.keys()];
  if (chars.length > maxVocab - 1) {
    chars = chars.sort((a, b) => counts.get(b)! - counts.get(a)!).slice(0, maxVocab - 1);
  }
  chars.sort();
  chars.push(UNKNOWN);
  const index = new Map(chars.map((c, i) => [c, i]));
  const unknownId = chars.length - 1;
  return {
    size: chars.length,
    chars,
    decode: (id: number) => chars[id] ?? UNKNOWN,
    encode(s: string): Int32Array {
      const out: number[] = [];
      for (const ch of s) out.push(index.get(ch) ?? unknownId);
      return Int32Array.from(out);
    },
  };
}

export class TextTask implements TaskGenerator {
  readonly name = 'text';
  readonly vocab: TextVocabulary;
  readonly seqLen: number;
  readonly variableLength: boolean;
  readonly minLength = 2;
  /** Characters copied from the start of each sequence to its end (0: none). */
  readonly repeat: number;
  private readonly train: Int32Array;
  private readonly validation: Int32Array;
  private readonly seed: number;

  constructor(options: TextOptions) {
    const source = options.source ?? 'text';
    checkUserText(options.text, source);
    this.seqLen = requireInt('seqLen', options.seqLen, 2, 1 << 16);
    this.vocab = options.tokenizer
      ? tokenizerVocabulary(options.tokenizer)
      : buildCharVocabulary(options.text, options.maxVocab ?? 256);
    const all = this.vocab.encode(options.text);
    const frac = options.validationFraction ?? TEXT_VALIDATION_FRACTION;
    if (!(frac > 0 && frac < 0.5))
      throw new TaskConfigError('validationFraction', `must be in (0, 0.5) (got ${frac})`);
    const cut = Math.floor(all.length * (1 - frac));
    this.train = all.subarray(0, cut);
    this.validation = all.subarray(cut);
    const need = this.seqLen + 1;
    if (this.validation.length < need || this.train.length < need) {
      throw new TaskConfigError(
        source,
        `is too short: ${all.length} ${options.tokenizer ? 'tokens' : 'characters'}, but a sequence of ${this.seqLen} needs at least ${minTextLength(this.seqLen, frac)} ` +
          'so that the validation part holds one sequence',
      );
    }
    this.seed = options.seed ?? 0;
    this.repeat = options.repeat ?? 0;
    if (!Number.isInteger(this.repeat) || this.repeat < 0 || 2 * this.repeat > this.seqLen) {
      throw new TaskConfigError('repeat', `must be a whole number from 0 to seqLen / 2 = ${this.seqLen / 2}`);
    }
    // The repeat's distance is set by the full length; shorter warm-up sequences would change it.
    this.variableLength = this.repeat === 0;
  }

  batch(split: Split, index: number, B: number, T = this.seqLen): TaskBatch {
    const data = split === 'train' ? this.train : this.validation;
    const r = streamFor(this.seed, split, index, 0x7e7);
    const tokens = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    const P = this.repeat;
    const longContext = P > 0 ? new Uint8Array(B * T) : undefined;
    for (let b = 0; b < B; b++) {
      const start = randInt(r, data.length - T);
      if (P === 0) {
        tokens.set(data.subarray(start, start + T), b * T);
        targets.set(data.subarray(start + 1, start + T + 1), b * T);
        continue;
      }
      // [x_0 … x_{T−P−1}, x_0 … x_{P−1}]: the copy's next tokens are the original's.
      const head = T - P;
      tokens.set(data.subarray(start, start + head), b * T);
      tokens.set(data.subarray(start, start + P), b * T + head);
      targets.set(data.subarray(start + 1, start + head), b * T);
      targets[b * T + head - 1] = data[start];
      targets.set(data.subarray(start + 1, start + P + 1), b * T + head);
      // The copy's first token is new text; from there on the window cannot see what comes next.
      longContext!.fill(1, b * T + head, b * T + T);
    }
    return { B, T, tokens, targets, ...(longContext ? { longContext } : {}) };
  }
}

/** Bucket of a position for loss-by-position charts: 0 for t = 0, then ⌊log2 t⌋ + 1. */
export function positionBucket(t: number): number {
  return t <= 0 ? 0 : Math.floor(Math.log2(t)) + 1;
}
