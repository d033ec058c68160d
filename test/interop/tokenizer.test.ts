// src/interop/tokenizer.ts (@huggingface/tokenizers) against the Rust `tokenizers` library: two tiny byte-level BPE
// tokenizers trained by scripts/make-tokenizer-fixtures.py (SmolLM2's and Qwen2's pipelines) and
// the ids and decoded text that library gave for each sample (contractions, digits, whitespace
// runs, CRLF, accents, CJK, emoji, added tokens, a decomposed accent that NFC composes).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTokenizer, TokenizerError } from '../../src/interop/tokenizer.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tokenizer');

function fixture(name: string): {
  source: string;
  cases: Array<{ text: string; ids: number[]; decoded: string }>;
} {
  return {
    source: readFileSync(join(FIXTURES, name, 'tokenizer.json'), 'utf8'),
    cases: JSON.parse(readFileSync(join(FIXTURES, name, 'expected.json'), 'utf8')),
  };
}

describe('byte-level BPE from tokenizer.json', () => {
  for (const name of ['gpt2-digits', 'qwen2']) {
    it(`${name}: encodes and decodes as the tokenizers library does`, () => {
      const { source, cases } = fixture(name);
      const tokenizer = parseTokenizer(source);
      expect(tokenizer.size).toBe(400);
      for (const c of cases) {
        expect(tokenizer.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
        expect(tokenizer.decode(c.ids)).toBe(c.decoded);
      }
    });
  }

  it('decodes special tokens unless told to skip them, and shows single tokens', () => {
    const tokenizer = parseTokenizer(fixture('qwen2').source);
    const ids = tokenizer.encode('<|im_start|>hi');
    expect(ids[0]).toBe(1);
    expect(tokenizer.decode(ids, true)).toBe('hi');
    expect(tokenizer.tokenText(ids[0])).toBe('<|im_start|>');
  });

  it('names what is wrong with a tokenizer.json', () => {
    const bpe = JSON.parse(fixture('gpt2-digits').source);
    const variants: Array<[string, string]> = [
      ['{', 'tokenizer.json: not valid JSON'],
      ['[]', 'not a JSON object'],
      [JSON.stringify({ ...bpe, model: undefined }), 'has no "model" section'],
      [
        JSON.stringify({ ...bpe, model: { ...bpe.model, vocab: {} }, added_tokens: [] }),
        'vocabulary is empty',
      ],
    ];
    for (const [source, message] of variants) {
      expect(() => parseTokenizer(source)).toThrow(TokenizerError);
      expect(() => parseTokenizer(source)).toThrow(message);
    }
  });

  it('reads the kinds of tokenizer the library knows beyond byte-level BPE (WordPiece)', () => {
    const wordPiece = {
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        vocab: { '[UNK]': 0, call: 1, me: 2, ish: 3, '##mael': 4 },
      },
      pre_tokenizer: { type: 'Whitespace' },
      decoder: { type: 'WordPiece', prefix: '##' },
      normalizer: null,
      post_processor: null,
      added_tokens: [],
    };
    const tokenizer = parseTokenizer(JSON.stringify(wordPiece));
    expect(tokenizer.size).toBe(5);
    expect(tokenizer.encode('call me ishmael')).toEqual([1, 2, 3, 4]);
  });
});
