import { describe, expect, it } from 'vitest';
import { InductionTask } from '../../src/tasks/induction.ts';
import { MqarTask } from '../../src/tasks/mqar.ts';
import { NiahTask, niahLayout, niahPrompt } from '../../src/tasks/niah.ts';
import {
  DIGIT_TOKENS,
  encodeAscii,
  NEEDLE_MARKER,
  passkeyVocab,
  QUERY_MARKER,
} from '../../src/tasks/passkey-vocab.ts';
import { buildCharVocabulary, checkUserText, positionBucket, TextTask } from '../../src/tasks/text.ts';
import { TaskConfigError } from '../../src/tasks/types.ts';

describe('NIAH passkey', () => {
  it('places the needle and the query, and asks only for the key', () => {
    const task = new NiahTask({ seqLen: 64, keyLength: 3, seed: 7 });
    for (let i = 0; i < 20; i++) {
      const s = task.sample('train', i);
      expect(s.tokens[s.needlePos]).toBe(NEEDLE_MARKER);
      expect(s.tokens[s.queryPos]).toBe(QUERY_MARKER);
      expect(s.queryPos).toBe(64 - 2 - 3);
      expect(s.tokens[s.queryPos + 1]).toBe(NEEDLE_MARKER);
      const needleKey = Array.from(s.tokens.subarray(s.needlePos + 1, s.needlePos + 4));
      const answer = Array.from(s.tokens.subarray(s.queryPos + 2, s.queryPos + 5));
      expect(needleKey).toEqual(s.key);
      expect(answer).toEqual(s.key);
      const scored = [...s.targets.entries()].filter(([, v]) => v >= 0);
      expect(scored.map(([t]) => t)).toEqual([s.queryPos + 1, s.queryPos + 2, s.queryPos + 3]);
      expect(scored.map(([, v]) => v)).toEqual(s.key);
      expect(s.key.every((d) => /[0-9]/.test(passkeyVocab.decode(d)))).toBe(true);
      // The needle marker twice (needle and query), the query marker once.
      expect(s.tokens.filter((x) => x === NEEDLE_MARKER).length).toBe(2);
      expect(s.tokens.filter((x) => x === QUERY_MARKER).length).toBe(1);
    }
  });

  it('is deterministic per (seed, split, index) and differs across them', () => {
    const a = new NiahTask({ seqLen: 48, seed: 1 }).batch('train', 3, 4);
    const b = new NiahTask({ seqLen: 48, seed: 1 }).batch('train', 3, 4);
    const c = new NiahTask({ seqLen: 48, seed: 1 }).batch('validation', 3, 4);
    expect(Array.from(a.tokens)).toEqual(Array.from(b.tokens));
    expect(Array.from(a.tokens)).not.toEqual(Array.from(c.tokens));
  });

  it('puts the needle at an exact distance before the query', () => {
    const task = new NiahTask({ seqLen: 300, keyLength: 2, seed: 3 });
    for (const s of task.atDistance(256, 5)) expect(s.queryPos - s.needlePos).toBe(256);
    expect(() => task.atDistance(299, 1)).toThrow(TaskConfigError);
  });

  it('maps depth 0 to the start and depth 1 to just before the query', () => {
    const layout = niahLayout(100, 2);
    const task = new NiahTask({ seqLen: 100, keyLength: 2 });
    expect(task.atDepth(100, 0, 1)[0].needlePos).toBe(0);
    expect(task.atDepth(100, 1, 1)[0].needlePos).toBe(layout.maxNeedlePos);
    expect(() => new NiahTask({ seqLen: 5, keyLength: 3 })).toThrow(/seqLen/);
  });

  it('lays out a given haystack as a prompt: the needle inserted at the depth, the query after it', () => {
    const hay = encodeAscii('the grass is green');
    const key = [DIGIT_TOKENS[4], DIGIT_TOKENS[2]];
    for (const depth of [0, 0.3, 0.5, 1, -1, 2]) {
      const p = niahPrompt(hay, key, depth);
      const at = Math.round(Math.min(1, Math.max(0, depth)) * hay.length);
      const want = [
        ...hay.subarray(0, at),
        NEEDLE_MARKER,
        ...key,
        ...hay.subarray(at),
        QUERY_MARKER,
        NEEDLE_MARKER,
      ];
      expect(Array.from(p.tokens)).toEqual(want);
      expect(p.needlePos).toBe(at);
      expect(p.queryPos).toBe(want.length - 2);
    }
  });
});

describe('MQAR', () => {
  it('asks for the value paired with each key, once per key', () => {
    const task = new MqarTask({ seqLen: 64, vocabSize: 64, pairs: 8, seed: 2 });
    for (let i = 0; i < 10; i++) {
      const { tokens, targets } = task.sample('train', i);
      const pairs = new Map<number, number>();
      for (let p = 0; p < 8; p++) pairs.set(tokens[2 * p], tokens[2 * p + 1]);
      expect(pairs.size).toBe(8);
      const asked: number[] = [];
      targets.forEach((v, t) => {
        if (v >= 0) {
          expect(pairs.get(tokens[t])).toBe(v);
          expect(tokens[t + 1]).toBe(v);
          expect(t).toBeGreaterThanOrEqual(16);
          asked.push(tokens[t]);
        }
      });
      expect(asked.sort()).toEqual([...pairs.keys()].sort());
    }
  });

  it('power-law gaps put queries nearer the pairs than uniform gaps do', () => {
    const mean = (gaps: 'power' | 'uniform') => {
      const task = new MqarTask({ seqLen: 256, vocabSize: 128, pairs: 4, gaps, seed: 5 });
      let sum = 0;
      let n = 0;
      for (let i = 0; i < 200; i++) {
        task.sample('train', i).targets.forEach((v, t) => {
          if (v >= 0) {
            sum += t;
            n++;
          }
        });
      }
      return sum / n;
    };
    expect(mean('power')).toBeLessThan(mean('uniform') - 20);
  });

  it('rejects too many pairs for the length', () => {
    expect(() => new MqarTask({ seqLen: 16, vocabSize: 64, pairs: 8 })).toThrow(/pairs/);
  });
});

describe('induction', () => {
  it('repeats a segment and scores only its second copy', () => {
    const task = new InductionTask({ seqLen: 40, vocabSize: 16, segment: 10, seed: 1 });
    const { tokens, targets } = task.batch('train', 0, 2);
    for (let b = 0; b < 2; b++) {
      const row = tokens.subarray(b * 40, b * 40 + 40);
      expect(Array.from(row.subarray(20, 30))).toEqual(Array.from(row.subarray(30, 40)));
      const scored = [...targets.subarray(b * 40, b * 40 + 40).entries()].filter(([, v]) => v >= 0);
      expect(scored.length).toBe(9);
      for (const [t, v] of scored) expect(v).toBe(row[t - 10 + 1]);
    }
  });
});

describe('text', () => {
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(40);

  it('builds a character vocabulary and next-character targets', () => {
    const task = new TextTask({ text, seqLen: 32, seed: 1 });
    const vocab = task.vocab;
    expect(vocab.decode(vocab.encode('fox')[0])).toBe('f');
    const { tokens, targets, B, T } = task.batch('train', 0, 3);
    expect(B * T).toBe(96);
    for (let b = 0; b < 3; b++) {
      for (let t = 0; t < 31; t++) expect(targets[b * 32 + t]).toBe(tokens[b * 32 + t + 1]);
    }
  });

  it('rejects empty, binary and too-short text with the field named', () => {
    expect(() => checkUserText('', 'upload')).toThrow(/upload: is empty/);
    expect(() => checkUserText('abc\u0000def', 'upload')).toThrow(/binary/);
    expect(() => checkUserText('\u0001\u0002\u0003\u0004abc', 'upload')).toThrow(/binary/);
    expect(() => new TextTask({ text: 'short text', seqLen: 64, source: 'upload' })).toThrow(
      /upload: is too short/,
    );
  });

  it('folds rare characters into an unknown token when the vocabulary is capped', () => {
    const v = buildCharVocabulary('aaaabbbc', 3);
    expect(v.size).toBe(3);
    expect(v.decode(v.encode('c')[0])).toBe('\u{FFFD}');
  });

  it('buckets positions by powers of two', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 1000].map(positionBucket)).toEqual([0, 1, 2, 2, 3, 3, 4, 10]);
  });
});

describe('NIAH fillers', () => {
  it('draws each filler from its own alphabet', () => {
    const chars = (filler: 'letters' | 'random' | 'repeat' | 'copy') => {
      const task = new NiahTask({ seqLen: 400, keyLength: 1, filler, seed: 2 });
      const s = task.sample('train', 0);
      const hay = Array.from(s.tokens)
        .filter((_, t) => t !== s.needlePos + 1 && t < s.queryPos)
        .map((id) => passkeyVocab.decode(id))
        .filter((c) => c !== '⟨K⟩');
      return new Set(hay);
    };
    expect([...chars('letters')].every((c) => /[a-z ]/.test(c))).toBe(true);
    expect([...chars('random')].some((c) => /[0-9]/.test(c))).toBe(true);
    expect(
      [...chars('repeat')].every((c) =>
        'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. '.includes(
          c,
        ),
      ),
    ).toBe(true);
    const copy = new NiahTask({ seqLen: 200, keyLength: 1, filler: 'copy', seed: 3 }).sample('train', 0);
    const period = Array.from({ length: 40 }, (_, p) => p).find(
      (p) => p >= 12 && copy.tokens[5] === copy.tokens[5 + p] && copy.tokens[6] === copy.tokens[6 + p],
    );
    expect(period).toBeDefined();
  });
});

describe('text with a repeated passage (long-context probe)', () => {
  const text = Array.from({ length: 4000 }, (_, i) =>
    String.fromCharCode(97 + ((i * 7 + (i >> 3)) % 26)),
  ).join('');

  it('ends each sequence with a copy of its start and marks only the copy as long-context', () => {
    const task = new TextTask({ text, seqLen: 40, seed: 3, repeat: 10 });
    const b = task.batch('train', 0, 2);
    for (let s = 0; s < 2; s++) {
      const row = b.tokens.subarray(s * 40, s * 40 + 40);
      expect(Array.from(row.subarray(30))).toEqual(Array.from(row.subarray(0, 10)));
      // Inside the copy, the next token is the original's next token.
      for (let t = 30; t < 39; t++) expect(b.targets[s * 40 + t]).toBe(row[t - 30 + 1]);
      const mask = Array.from(b.longContext!.subarray(s * 40, s * 40 + 40));
      expect(mask.slice(0, 30).every((m) => m === 0)).toBe(true);
      expect(mask.slice(30).every((m) => m === 1)).toBe(true);
    }
    expect(task.variableLength).toBe(false);
  });

  it('refuses a passage longer than half the sequence', () => {
    expect(() => new TextTask({ text, seqLen: 40, repeat: 21 })).toThrow(/repeat/);
  });
});
