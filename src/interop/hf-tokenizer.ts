// The playground's vocabulary as Hugging Face tokenizer files. Vocabularies here are
// character-level (a text's characters, printable ASCII for NIAH) with a few multi-character
// markers (⟨K⟩, ⟨Q⟩) or, for synthetic tasks, names (k3, v5, t12). The tokenizer.json is a
// `tokenizers` WordLevel model behind a pre-tokenizer that splits text into single characters;
// every multi-character token is an added token, matched whole before the split. So
// PreTrainedTokenizerFast encodes "ab⟨K⟩1" as [a, b, ⟨K⟩, 1] and decodes by concatenation.

import { HfExportError } from './errors.ts';

export type TokenizerFiles = Record<'vocab.json' | 'tokenizer.json' | 'tokenizer_config.json', string>;

/** Where unknown characters go: U+FFFD (text vocabularies), else '?', else nowhere. */
function unknownToken(tokens: readonly string[]): string | null {
  for (const candidate of ['\u{FFFD}', '?']) if (tokens.includes(candidate)) return candidate;
  return null;
}

/** Token strings, made unique (a repeated display string gets its id appended). */
export function uniqueTokens(tokens: readonly string[]): string[] {
  const seen = new Set<string>();
  return tokens.map((t, id) => {
    const s = t === '' || seen.has(t) ? `⟨${id}⟩` : t;
    seen.add(s);
    return s;
  });
}

/** token → id as Hugging Face's vocab.json has it, written in id order so it reads as a table. */
function vocabJson(tokens: readonly string[]): string {
  return `{\n${tokens.map((t, id) => `  ${JSON.stringify(t)}: ${id}`).join(',\n')}\n}\n`;
}

export function tokenizerFiles(displayTokens: readonly string[], maxLength: number): TokenizerFiles {
  if (displayTokens.length === 0) throw new HfExportError('vocabulary', 'the vocabulary is empty');
  const tokens = uniqueTokens(displayTokens);
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => {
    vocab[t] = id;
  });
  const unk = unknownToken(tokens);
  const added = tokens.flatMap((t, id) =>
    [...t].length > 1
      ? [
          {
            id,
            content: t,
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: false,
          },
        ]
      : [],
  );
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    // An empty pattern splits between every two characters.
    pre_tokenizer: { type: 'Split', pattern: { String: '' }, behavior: 'Isolated', invert: false },
    post_processor: null,
    decoder: { type: 'Fuse' },
    // Without an unknown token in the vocabulary, encoding an unknown character fails loudly.
    model: { type: 'WordLevel', vocab, unk_token: unk ?? '[UNK]' },
  };
  const config: Record<string, unknown> = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: maxLength,
    clean_up_tokenization_spaces: false,
  };
  if (unk) config.unk_token = unk;
  return {
    'vocab.json': vocabJson(tokens),
    'tokenizer.json': `${JSON.stringify(tokenizer)}\n`,
    'tokenizer_config.json': `${JSON.stringify(config, null, 2)}\n`,
  };
}
