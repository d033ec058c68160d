// Vocabulary for the needle-in-a-haystack task: printable ASCII plus two reserved
// markers, so both random and natural-text haystacks (and text typed in the UI) fit.

import type { Vocabulary } from './types.ts';

const FIRST = 32; // ' '
const LAST = 126; // '~'
export const ASCII_COUNT = LAST - FIRST + 1; // 95
export const NEEDLE_MARKER = ASCII_COUNT; // ⟨K⟩: the key follows
export const QUERY_MARKER = ASCII_COUNT + 1; // ⟨Q⟩: recall the key
export const PASSKEY_VOCAB_SIZE = ASCII_COUNT + 2;

/** Characters outside printable ASCII are folded to a close ASCII character or '?'. */
const FOLD: Record<string, string> = {
  '\n': ' ',
  '\t': ' ',
  '\r': ' ',
  '—': '-',
  '–': '-',
  '‘': "'",
  '’': "'",
  '“': '"',
  '”': '"',
};

export function charToken(ch: string): number {
  const folded = FOLD[ch] ?? ch;
  const code = folded.charCodeAt(0);
  return code >= FIRST && code <= LAST ? code - FIRST : '?'.charCodeAt(0) - FIRST;
}

export function encodeAscii(text: string): Int32Array {
  const out = new Int32Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = charToken(text[i]);
  return out;
}

export const passkeyVocab: Vocabulary = {
  size: PASSKEY_VOCAB_SIZE,
  decode(id: number): string {
    if (id === NEEDLE_MARKER) return '⟨K⟩';
    if (id === QUERY_MARKER) return '⟨Q⟩';
    if (id >= 0 && id < ASCII_COUNT) return String.fromCharCode(FIRST + id);
    return '�';
  },
};

export const DIGIT_TOKENS = Array.from({ length: 10 }, (_, d) => charToken(String(d)));
/** Filler for random haystacks: letters, space and digits (digits too, so a model cannot find the key by its type). */
export const RANDOM_FILLER_TOKENS = Array.from('abcdefghijklmnopqrstuvwxyz 0123456789', (c) => charToken(c));
/** Letters and space only: the key is the only number in the haystack, as in RULER's essays. */
export const LETTER_FILLER_TOKENS = Array.from('abcdefghijklmnopqrstuvwxyz ', (c) => charToken(c));
