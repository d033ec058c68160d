// src/interop/tokenizer.ts against the `tokenizers` library itself: two tiny byte-level BPE
// tokenizers trained by scripts/make-tokenizer-fixtures.py (SmolLM2's and Qwen2's pipelines) and
// the ids and decoded text that library gave for each sample (contractions, digits, whitespace
// runs, CRLF, accents, CJK, emoji, added tokens, a decomposed accent that NFC composes).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsPattern, parseTokenizer, TokenizerError } from '../../src/interop/tokenizer.ts';

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

  it('turns Oniguruma case-insensitive groups into JavaScript', () => {
    expect(jsPattern("(?i:'s|'ll)|\\p{L}+")).toBe("(?:'[sS]|'[lL][lL])|\\p{L}+");
    const regex = new RegExp(jsPattern("(?i:'s|'t)"), 'gu');
    expect("IT'S it's".match(regex)).toEqual(["'S", "'s"]);
  });

  it('refuses what is not byte-level BPE, naming it', () => {
    const bpe = JSON.parse(fixture('gpt2-digits').source);
    const variants: Array<[unknown, string]> = [
      [{ ...bpe, model: { type: 'WordPiece', vocab: {} } }, 'model type "WordPiece" is not supported'],
      [{ ...bpe, pre_tokenizer: { type: 'Metaspace' } }, 'type "Metaspace" is not supported'],
      [{ ...bpe, pre_tokenizer: null }, 'no ByteLevel step'],
      [{ ...bpe, normalizer: { type: 'Lowercase' } }, 'normalizer "Lowercase" is not supported'],
      [{ ...bpe, model: { ...bpe.model, byte_fallback: true } }, 'byte_fallback'],
    ];
    for (const [json, message] of variants) {
      expect(() => parseTokenizer(JSON.stringify(json))).toThrow(TokenizerError);
      expect(() => parseTokenizer(JSON.stringify(json))).toThrow(message);
    }
    expect(() => parseTokenizer('{')).toThrow('tokenizer.json: not valid JSON');
  });
});
