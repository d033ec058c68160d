// Haystacks for the interactive NIAH panel, checks of what the user typed, and the arrows
// from the answer back to the retrieved positions.

import { rng } from '../../common/random.ts';
import type { FieldError } from '../../gpu/model/config.ts';
import type { NiahAnswer } from '../../gpu/train/protocol.ts';
import { charToken } from '../../tasks/passkey-vocab.ts';

/** Same alphabet as the NIAH task's random filler (digits too, so the key's type gives nothing away). */
export const FILLER_ALPHABET = 'abcdefghijklmnopqrstuvwxyz 0123456789';

export function randomHaystack(length: number, seed: number): string {
  const r = rng(seed);
  let out = '';
  for (let i = 0; i < length; i++) out += FILLER_ALPHABET[Math.floor(r() * FILLER_ALPHABET.length)];
  return out;
}

/** A slice of a text (whitespace folded to single spaces), at a seeded offset. */
export function corpusHaystack(corpus: string, length: number, seed: number): string {
  const text = corpus.replace(/\s+/g, ' ');
  if (text.length <= length) return text;
  const start = Math.floor(rng(seed)() * (text.length - length));
  return text.slice(start, start + length);
}

export function randomKey(digits: number, seed: number): string {
  const r = rng(seed ^ 0x5eed);
  let out = '';
  for (let i = 0; i < digits; i++) out += String(Math.floor(r() * 10));
  return out;
}

export interface NiahInput {
  haystack: string;
  key: string;
  depth: number;
}

/** Characters the NIAH vocabulary has no token for (they would silently become "?"), distinct, in order. */
export function outOfVocabulary(text: string): string[] {
  const unknown = charToken('?');
  const seen = new Set<string>();
  for (const ch of text) if (ch !== '?' && (ch.length > 1 || charToken(ch) === unknown)) seen.add(ch);
  return [...seen];
}

/** Longest haystack a model of sequence length T takes: needle (1 + k), question (2), k − 1 fed-back answer tokens. */
export function maxHaystackLength(seqLen: number, keyLength: number): number {
  return seqLen - 2 * keyLength - 2;
}

/**
 * The haystack, key and depth as the models will take them: `limit` is the longest haystack
 * the asked models accept (the smallest of their maxHaystackLength), when known.
 */
export function validateNiahInput(
  input: NiahInput & { limit?: { length: number; model: string } },
): FieldError[] {
  const e: FieldError[] = [];
  const hay = input.haystack;
  if (hay.length === 0) e.push({ field: 'haystack', message: 'is empty: type, paste or generate one' });
  const unknown = outOfVocabulary(hay);
  if (unknown.length > 0) {
    const shown = unknown
      .slice(0, 5)
      .map((c) => `"${c}"`)
      .join(', ');
    e.push({
      field: 'haystack',
      message: `has ${unknown.length} character${unknown.length === 1 ? '' : 's'} outside the model's vocabulary (${shown}${unknown.length > 5 ? ', …' : ''}); use printable ASCII`,
    });
  }
  if (input.limit && hay.length > input.limit.length) {
    e.push({
      field: 'haystack',
      message: `is ${hay.length} characters, longer than the ${input.limit.length} that ${input.limit.model} takes`,
    });
  }
  if (!/^\d{1,8}$/.test(input.key)) e.push({ field: 'key', message: 'must be 1 to 8 digits' });
  if (!(input.depth >= 0 && input.depth <= 1)) e.push({ field: 'depth', message: 'must be between 0 and 1' });
  return e;
}

export interface Arc {
  layer: number;
  /** The answer position the retrieval was made from. */
  from: number;
  /** The position retrieved. */
  to: number;
  /** The retrieved position lies on the needle (its marker or its digits). */
  onNeedle: boolean;
}

/** Last position of the needle's key: the needle spans needlePos … this (its marker or sentence, then the digits). */
export function needleKeyEnd(answer: NiahAnswer, keyLength: number): number {
  return (answer.keyPos ?? answer.needlePos + 1) + keyLength - 1;
}

/** One arc per (layer, answer position, route that retrieved something). */
export function answerArcs(answer: NiahAnswer, keyLength: number): Arc[] {
  const lo = answer.needlePos;
  const hi = needleKeyEnd(answer, keyLength);
  const arcs: Arc[] = [];
  for (const r of answer.retrievals) {
    for (const d of r.dest) {
      if (d < 0) continue;
      arcs.push({ layer: r.layer, from: r.position, to: d, onNeedle: d >= lo && d <= hi });
    }
  }
  return arcs;
}

export function arcSummary(arcs: Arc[]): { total: number; onNeedle: number } {
  return { total: arcs.length, onNeedle: arcs.filter((a) => a.onNeedle).length };
}

/** Parses "128, 256 512" into sorted distinct positive integers; null with a message when invalid. */
export function parseIntList(
  text: string,
  min: number,
  max: number,
): { values: number[]; error: string | null } {
  const parts = text.split(/[\s,;]+/).filter((s) => s !== '');
  if (parts.length === 0) return { values: [], error: 'give at least one value' };
  const values: number[] = [];
  for (const p of parts) {
    const x = Number(p);
    if (!Number.isInteger(x) || x < min || x > max) {
      return { values: [], error: `"${p.slice(0, 20)}" is not a whole number from ${min} to ${max}` };
    }
    values.push(x);
  }
  return { values: [...new Set(values)].sort((a, b) => a - b), error: null };
}

export function parseFractionList(text: string): { values: number[]; error: string | null } {
  const parts = text.split(/[\s,;]+/).filter((s) => s !== '');
  if (parts.length === 0) return { values: [], error: 'give at least one depth' };
  const values: number[] = [];
  for (const p of parts) {
    const x = Number(p);
    if (!Number.isFinite(x) || x < 0 || x > 1) {
      return { values: [], error: `"${p.slice(0, 20)}" is not a depth between 0 and 1` };
    }
    values.push(x);
  }
  return { values: [...new Set(values)].sort((a, b) => a - b), error: null };
}
