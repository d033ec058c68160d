import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { counterfactuals, symbolOf, tokensOf, walkthrough } from '../../../src/ui/how-rosa/walkthrough.ts';

/** The definition, literally: longest w with q[t-w+1..t] = k[j..j+w-1], j+w-1 < t, latest j. */
function bruteForce(q: number[], k: number[], t: number): { from: number; length: number } {
  for (let w = t; w >= 1; w--) {
    for (let j = t - w; j >= 0; j--) {
      let same = true;
      for (let i = 0; i < w && same; i++) same = q[t - w + 1 + i] === k[j + i];
      if (same) return { from: j + w, length: w };
    }
  }
  return { from: -1, length: 0 };
}

describe('how ROSA works: the walkthrough', () => {
  it('takes a bit slice of each character code', () => {
    expect(symbolOf('a', { bits: 5, shift: 0 })).toBe(1);
    expect(symbolOf('A', { bits: 5, shift: 0 })).toBe(1);
    expect(symbolOf(' ', { bits: 5, shift: 0 })).toBe(0);
    expect(symbolOf('c', { bits: 2, shift: 1 })).toBe(1); // 0b1100011 >> 1 = ...0001, & 3
    expect(tokensOf('a😀b')).toEqual(['a', '😀', 'b']);
  });

  it('retrieves what the definition says, with the injected bits of the retrieved character', () => {
    const chars = tokensOf('abracadabra abracadabra');
    const slice = { bits: 5, shift: 0 };
    const { positions } = walkthrough(chars, slice);
    const s = chars.map((c) => symbolOf(c, slice));
    for (const p of positions) expect(p.retrieval).toEqual(bruteForce(s, s, p.t));
    // The second "abra" of the repeat: matched the whole first "abracadabra " … up to here.
    expect(positions[22].retrieval).toEqual({ from: 11, length: 11 });
    expect(positions[22].injectedChar).toBe(' ');
    expect(positions[22].injected).toEqual([-1, -1, -1, -1, -1]);
    expect(positions[0].injected).toEqual([0, 0, 0, 0, 0]);
  });

  it('counterfactuals: a rerun of the scan per flipped bit, equal to the scan’s saved indices', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', ' '), minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(),
        (text, bits, pick) => {
          const chars = tokensOf(text);
          const slice = { bits, shift: 0 };
          const { positions, rcf } = walkthrough(chars, slice);
          const s = chars.map((c) => symbolOf(c, slice));
          for (const p of positions) expect(p.retrieval).toEqual(bruteForce(s, s, p.t));
          const t = pick % chars.length;
          for (const cf of counterfactuals(chars, slice, t, rcf)) {
            const q = s.slice();
            q[t] ^= 1 << cf.bit;
            expect(cf.retrieval).toEqual(bruteForce(q, s, t));
            expect(cf.savedFrom).toBe(cf.retrieval.from);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
