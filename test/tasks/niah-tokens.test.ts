// NIAH in a base model's tokens: the needle " The pass key is 7." and the question " What is
// the pass key? The pass key is " tokenized by the committed fixture tokenizers, a haystack of
// tokenized natural text, the answer the digit's token. The character NIAH stays as it was.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRunSpec } from '../../src/config/validate.ts';
import { parseTokenizer } from '../../src/interop/tokenizer.ts';
import { loadCorpusNode } from '../../src/tasks/corpus-node.ts';
import { NiahTask, niahPrompt, REPEAT_FILLER } from '../../src/tasks/niah.ts';
import { NEEDLE_SENTENCE, QUESTION_SENTENCE, tokenizerSpelling } from '../../src/tasks/niah-spelling.ts';
import type { TextTokenizer } from '../../src/tasks/text.ts';
import { tinyNiahSpec } from '../harness/engine.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tokenizer');
const load = (name: string) => parseTokenizer(readFileSync(join(FIXTURES, name, 'tokenizer.json'), 'utf8'));
const qwen2 = load('qwen2');
const gpt2Digits = load('gpt2-digits');
const corpus = await loadCorpusNode('moby-dick');

const text = (t: TextTokenizer, ids: ArrayLike<number>) => Array.from(ids, (id) => t.tokenText(id)).join('');

describe('the pass key sentence in base tokens', () => {
  // Both fixtures split numbers into digits (Qwen2's pattern, GPT-2 with a Digits pre-tokenizer);
  // the digits are the byte-level ids of '0'–'9' in each vocabulary.
  for (const [name, t, zero] of [
    ['qwen2', qwen2, 17],
    ['gpt2-digits', gpt2Digits, 16],
  ] as const) {
    it(`${name}: one token per digit, "${zero}"–"${zero + 9}", after " The pass key is "`, () => {
      const s = tokenizerSpelling(t);
      expect(s.digits).toEqual(Array.from({ length: 10 }, (_, d) => zero + d));
      expect(s.digits.map((id) => t.tokenText(id)).join('')).toBe('0123456789');
      expect(text(t, s.needle)).toBe(NEEDLE_SENTENCE);
      expect(text(t, s.needleEnd)).toBe('.');
      expect(text(t, s.question)).toBe(QUESTION_SENTENCE);
      expect([...s.needle, s.digits[7], ...s.needleEnd]).toEqual(t.encode(' The pass key is 7.'));
      expect(s.vocab.size).toBe(t.size);
    });
  }

  it('refuses a tokenizer that merges digits, naming the field and the merge', () => {
    // Qwen2's tokens with "73" merged into one (as GPT-2's own tokenizer merges numbers).
    const merged: TextTokenizer = {
      size: qwen2.size + 1,
      tokenText: (id) => (id === qwen2.size ? '73' : qwen2.tokenText(id)),
      encode: (s) => {
        const ids = qwen2.encode(s);
        const out: number[] = [];
        for (let i = 0; i < ids.length; i++) {
          if (ids[i] === 24 && ids[i + 1] === 20) {
            out.push(qwen2.size);
            i++;
          } else out.push(ids[i]);
        }
        return out;
      },
    };
    expect(() => tokenizerSpelling(merged)).toThrow(
      'tokenizer: the base tokenizer merges the digits "73" into "73"; NIAH in base tokens needs one token per digit of the key',
    );
    const spaced: TextTokenizer = {
      ...qwen2,
      size: qwen2.size,
      encode: (s) => qwen2.encode(s.replace(/ (\d)/g, '$1')),
      tokenText: (id) => qwen2.tokenText(id),
    };
    expect(() => tokenizerSpelling(spaced)).toThrow(
      /tokenizer: the base tokenizer spells "The pass key is 0\." as .*; NIAH in base tokens needs each digit as its own token after the sentence/,
    );
  });
});

describe('NIAH in base tokens', () => {
  const T = 160;
  const task = new NiahTask({ seqLen: T, keyLength: 2, filler: 'corpus', corpus, tokenizer: qwen2, seed: 3 });
  const s = task.spelling;
  const stream = qwen2.encode(corpus).join(',');

  it('lays out needle, natural-text haystack and question, and scores only the key digits', () => {
    expect(task.vocab.size).toBe(400);
    // needle 11 + 2 + 1, question 16 + 11 + 2.
    expect(task.minLength).toBe(s.needle.length + 2 + 1 + s.question.length + s.needle.length + 2);
    for (let i = 0; i < 12; i++) {
      const x = task.sample('train', i);
      const key = x.key.map((id) => qwen2.tokenText(id)).join('');
      expect(key).toMatch(/^\d\d$/);
      expect(x.keyPos).toBe(x.needlePos + s.needle.length);
      expect(text(qwen2, x.tokens.subarray(x.needlePos, x.keyPos + 3))).toBe(` The pass key is ${key}.`);
      expect(text(qwen2, x.tokens.subarray(x.queryPos))).toBe(`${QUESTION_SENTENCE} The pass key is ${key}`);
      expect(x.queryPos + s.question.length + s.needle.length + 2).toBe(T);
      // The answer: at the last token of the repeated prefix predict the first digit, then the second.
      const scored = [...x.answerTargets.entries()].filter(([, v]) => v >= 0);
      expect(scored).toEqual([
        [T - 3, x.key[0]],
        [T - 2, x.key[1]],
      ]);
      expect(x.targets).toEqual(x.answerTargets);
      // The haystack before the needle is a stretch of the tokenized novel.
      if (x.needlePos >= 8) expect(stream).toContain(Array.from(x.tokens.subarray(0, x.needlePos)).join(','));
    }
  });

  it('the same layouts for distance and depth, and a prompt from a haystack text', () => {
    const far = task.atDistance(100, 3);
    for (const x of far) expect(x.queryPos - x.needlePos).toBe(100);
    const hay = s.encode('Call me Ishmael. Some years ago, never mind how long precisely.');
    const p = niahPrompt(hay, [s.digits[4], s.digits[2]], 0.5, s);
    expect(text(qwen2, p.tokens)).toContain(' The pass key is 42.');
    expect(text(qwen2, p.tokens).endsWith(`${QUESTION_SENTENCE} The pass key is `)).toBe(true);
    expect(p.tokens.length).toBe(hay.length + task.minLength - 2);
  });

  it('repeat filler: the passkey sentences tokenized; other fillers are refused by name', () => {
    const repeat = new NiahTask({ seqLen: T, keyLength: 1, filler: 'repeat', tokenizer: gpt2Digits });
    const x = repeat.sample('validation', 0);
    const cycle = gpt2Digits.encode(REPEAT_FILLER.repeat(4)).join(',');
    expect(cycle).toContain(Array.from(x.tokens.subarray(x.keyPos + 2, x.queryPos)).join(','));
    for (const filler of ['random', 'letters', 'copy'] as const) {
      expect(() => new NiahTask({ seqLen: T, filler, tokenizer: qwen2 })).toThrow(
        `filler: '${filler}' is not text: in a base model's tokens the haystack is natural text (corpus or repeat)`,
      );
    }
    const spec = tinyNiahSpec('base');
    const bad = { ...spec, task: { ...spec.task, tokenizer: 'base' as const, filler: 'random' as const } };
    expect(checkRunSpec(bad).errors).toContainEqual({
      field: 'task.filler',
      message:
        "must be corpus or repeat with the base model's tokens: the haystack is natural text (got random)",
    });
  });
});

describe('NIAH in characters is unchanged', () => {
  // Checksums of batches and evaluation samples, recorded before the base-token spelling existed.
  const sum = (a: Int32Array) => a.reduce((h, x) => (Math.imul(h, 31) + x + 7) | 0, 0);
  const want: Record<string, string> = {
    random:
      '1974580049 393062457 1882375818/-1557322800/51/91 -1050737867/-1557204504/51/91 396416812/1979397872/28/59 -1009644262/1979661093/28/59',
    letters:
      '-468967130 393062457 592563481/-1557322800/51/91 1203193407/-1557204504/51/91 74891431/1979397872/28/59 538762107/1979661093/28/59',
    repeat:
      '-152267312 1790115345 542254899/-1557142163/51/91 -2133706900/-1557296822/51/91 747079409/1979509131/28/59 586071788/1979394741/28/59',
    copy: '-1708018687 1055876935 -402566300/-1557323606/51/91 1472900575/-1557230513/51/91 1282170520/1979636231/28/59 1783103355/1979450572/28/59',
    corpus:
      '2941849 1790115345 -1514988352/-1557142163/51/91 103020839/-1557296822/51/91 1611862864/1979509131/28/59 1203177796/1979394741/28/59',
  };
  for (const filler of ['random', 'letters', 'repeat', 'copy', 'corpus'] as const) {
    it(filler, () => {
      const t = new NiahTask({
        seqLen: 96,
        keyLength: 3,
        filler,
        corpus,
        seed: 5,
        loss: filler === 'copy' ? 'all' : 'answer',
      });
      const b = t.batch('train', 2, 3);
      const d = t.atDistance(40, 2).concat(t.atDepth(64, 0.5, 2));
      const got = [
        sum(b.tokens),
        sum(b.targets),
        d.map((x) => [sum(x.tokens), sum(x.answerTargets), x.needlePos, x.queryPos].join('/')).join(' '),
      ].join(' ');
      expect(got).toBe(want[filler]);
      for (const x of d) expect(x.keyPos).toBe(x.needlePos + 1);
    });
  }
});
