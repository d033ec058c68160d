import { describe, expect, it } from 'vitest';
import type { NiahAnswer } from '../../../src/gpu/train/protocol.ts';
import {
  answerArcs,
  arcSummary,
  corpusHaystack,
  FILLER_ALPHABET,
  needleKeyEnd,
  parseFractionList,
  parseIntList,
  randomHaystack,
  randomKey,
  validateNiahInput,
} from '../../../src/ui/niah/haystack.ts';

describe('NIAH helpers', () => {
  it('generates reproducible haystacks and keys', () => {
    const h = randomHaystack(300, 5);
    expect(h).toHaveLength(300);
    expect([...h].every((c) => FILLER_ALPHABET.includes(c))).toBe(true);
    expect(randomHaystack(300, 5)).toBe(h);
    expect(randomHaystack(300, 6)).not.toBe(h);
    expect(randomKey(4, 1)).toMatch(/^\d{4}$/);
    const c = corpusHaystack('Call me\n\nIshmael.   Some years ago', 10, 3);
    expect(c).toHaveLength(10);
    expect(c).not.toMatch(/\s\s|\n/);
  });

  it('validates the inputs', () => {
    expect(validateNiahInput({ haystack: 'abc', key: '42', depth: 0.5 })).toEqual([]);
    expect(validateNiahInput({ haystack: '', key: '4a', depth: 2 }).map((e) => e.field)).toEqual([
      'haystack',
      'key',
      'depth',
    ]);
    expect(validateNiahInput({ haystack: 'x', key: '123456789', depth: 0 })[0].message).toBe(
      'must be 1 to 8 digits',
    );
  });

  it('draws arcs from answer positions to what was retrieved and tells which land on the needle', () => {
    const answer: NiahAnswer = {
      runId: 'r',
      answer: '42',
      correct: true,
      needlePos: 10,
      queryPos: 50,
      tokens: [],
      retrievals: [
        { layer: 1, position: 50, dest: [11, -1, 30] },
        { layer: 1, position: 51, dest: [12, 10] },
      ],
    };
    const arcs = answerArcs(answer, 2);
    expect(arcs).toEqual([
      { layer: 1, from: 50, to: 11, onNeedle: true },
      { layer: 1, from: 50, to: 30, onNeedle: false },
      { layer: 1, from: 51, to: 12, onNeedle: true },
      { layer: 1, from: 51, to: 10, onNeedle: true },
    ]);
    expect(arcSummary(arcs)).toEqual({ total: 4, onNeedle: 3 });
  });

  it('a needle in base tokens spans its sentence and the key (keyPos), not just keyLength + 1 tokens', () => {
    // " The pass key is 42." in 11 + 2 + 1 tokens from position 10: the key at 21–22.
    const answer: NiahAnswer = {
      runId: 'r',
      answer: '42',
      correct: true,
      needlePos: 10,
      keyPos: 21,
      queryPos: 60,
      tokens: [],
      retrievals: [{ layer: 0, position: 88, dest: [22, 23, 15] }],
    };
    expect(needleKeyEnd(answer, 2)).toBe(22);
    expect(answerArcs(answer, 2).map((a) => a.onNeedle)).toEqual([true, false, true]);
    expect(needleKeyEnd({ ...answer, keyPos: undefined }, 2)).toBe(12);
  });

  it('parses grid axes', () => {
    expect(parseIntList('256, 128 128;512', 8, 4096)).toEqual({ values: [128, 256, 512], error: null });
    expect(parseIntList('12x', 8, 4096).error).toMatch(/"12x" is not a whole number from 8 to 4096/);
    expect(parseIntList('', 8, 10).error).toBe('give at least one value');
    expect(parseFractionList('0 0.5 1').values).toEqual([0, 0.5, 1]);
    expect(parseFractionList('1.5').error).toMatch(/not a depth/);
  });
});
