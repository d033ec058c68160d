// How a NIAH sample is spelled: the needle before the key, what follows it, the question and
// the ten digits. In the task's own characters these are the markers ⟨K⟩ and ⟨Q⟩ (one token
// each); in a base model's tokens they are English sentences, tokenized:
//   needle " The pass key is 7."   question " What is the pass key? The pass key is " → "7"
// so the answer is the digit's token after the same sentence prefix the needle used.

import { DIGIT_TOKENS, encodeAscii, NEEDLE_MARKER, passkeyVocab, QUERY_MARKER } from './passkey-vocab.ts';
import type { TextTokenizer } from './text.ts';
import { TaskConfigError, type Vocabulary } from './types.ts';

export interface NiahSpelling {
  readonly vocab: Vocabulary;
  /** Tokens right before the key, in the needle and again in the query. */
  readonly needle: readonly number[];
  /** Tokens after the needle's key (the full stop; none for the markers). */
  readonly needleEnd: readonly number[];
  /** Tokens that open the query, before the needle's prefix is repeated. */
  readonly question: readonly number[];
  /** Token of each digit 0–9. */
  readonly digits: readonly number[];
  /** A text in these tokens (user haystacks, the corpus, the repeat filler). */
  encode(text: string): Int32Array;
  /** True for a base model's tokenizer: the haystack must be natural text. */
  readonly tokenized: boolean;
}

export const CHAR_SPELLING: NiahSpelling = {
  vocab: passkeyVocab,
  needle: [NEEDLE_MARKER],
  needleEnd: [],
  question: [QUERY_MARKER],
  digits: DIGIT_TOKENS,
  encode: encodeAscii,
  tokenized: false,
};

/** The needle's words before the key (the space before the key included: digits stand alone). */
export const NEEDLE_SENTENCE = ' The pass key is ';
export const QUESTION_SENTENCE = ' What is the pass key?';

function tokenText(tokenizer: TextTokenizer, ids: readonly number[]): string {
  return ids.map((id) => JSON.stringify(tokenizer.tokenText(id))).join(' ');
}

const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The sentences in a base model's tokens. Throws unless every digit is one token, in the
 * needle and next to any other digit (then no merge can join digits, so a key of any length is
 * one token per digit, as Qwen2/Qwen3 and Llama 3 tokenizers split numbers).
 */
export function tokenizerSpelling(tokenizer: TextTokenizer): NiahSpelling {
  const encode = (text: string) => tokenizer.encode(text);
  const needle = encode(NEEDLE_SENTENCE);
  const needleEnd = encode('.');
  const digits: number[] = [];
  for (let d = 0; d < 10; d++) {
    const own = encode(String(d));
    const sentence = encode(`${NEEDLE_SENTENCE}${d}.`);
    if (own.length !== 1 || !same(sentence, [...needle, own[0], ...needleEnd])) {
      throw new TaskConfigError(
        'tokenizer',
        `the base tokenizer spells "${NEEDLE_SENTENCE.trim()} ${d}." as ${tokenText(tokenizer, sentence)}; ` +
          'NIAH in base tokens needs each digit as its own token after the sentence',
      );
    }
    digits.push(own[0]);
  }
  for (let a = 0; a < 10; a++)
    for (let b = 0; b < 10; b++) {
      const pair = encode(`${a}${b}`);
      if (!same(pair, [digits[a], digits[b]])) {
        throw new TaskConfigError(
          'tokenizer',
          `the base tokenizer merges the digits "${a}${b}" into ${tokenText(tokenizer, pair)}; ` +
            'NIAH in base tokens needs one token per digit of the key',
        );
      }
    }
  return {
    vocab: { size: tokenizer.size, decode: (id) => tokenizer.tokenText(id) },
    needle,
    needleEnd,
    question: encode(QUESTION_SENTENCE),
    digits,
    encode: (text) => Int32Array.from(encode(text)),
    tokenized: true,
  };
}

/** Tokens of the needle (prefix, key, end) and of the query with its answer. */
export function needleLength(spelling: NiahSpelling, keyLength: number): number {
  return spelling.needle.length + keyLength + spelling.needleEnd.length;
}
export function queryLength(spelling: NiahSpelling, keyLength: number): number {
  return spelling.question.length + spelling.needle.length + keyLength;
}
