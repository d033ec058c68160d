// A Hugging Face model's own tokenizer, read from its tokenizer.json with the maintained
// `@huggingface/tokenizers` (pure TypeScript, the tokenizers of Transformers.js): byte-level
// BPE (GPT-2, Llama 3, Qwen2/2.5/3, SmolLM2) and the other kinds it knows. Encoding never adds
// BOS/EOS: tasks cut their sequences out of one token stream.

import { Tokenizer } from '@huggingface/tokenizers';

export class TokenizerError extends Error {
  constructor(message: string) {
    super(`tokenizer.json: ${message}`);
    this.name = 'TokenizerError';
  }
}

type Json = Record<string, unknown>;

/** Token ids in a tokenizer.json: the largest id of its vocabulary and added tokens, plus one. */
function idCount(json: Json): number {
  const model = (json.model ?? {}) as Json;
  const vocab = model.vocab;
  let largest = -1;
  if (Array.isArray(vocab))
    largest = vocab.length - 1; // Unigram: [piece, score] by id
  else if (vocab && typeof vocab === 'object')
    for (const id of Object.values(vocab as Record<string, unknown>))
      if (typeof id === 'number' && id > largest) largest = id;
  for (const t of (json.added_tokens ?? []) as Json[])
    if (typeof t.id === 'number' && t.id > largest) largest = t.id;
  return largest + 1;
}

export class HfTokenizer {
  /** Token ids: the largest id + 1 (models often have a larger vocab_size still). */
  readonly size: number;
  private readonly tokenizer: Tokenizer;

  constructor(json: Json) {
    if (!json.model || typeof json.model !== 'object') throw new TokenizerError('has no "model" section');
    this.size = idCount(json);
    if (this.size === 0) throw new TokenizerError('its vocabulary is empty');
    try {
      this.tokenizer = new Tokenizer(json, {});
    } catch (err) {
      throw new TokenizerError(`cannot be read (${(err as Error).message})`);
    }
  }

  /** Token ids of a text (no BOS/EOS). */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** The text of token ids; special tokens are left out when `skipSpecial`. */
  decode(ids: readonly number[], skipSpecial = false): string {
    if (ids.length === 0) return ''; // the library refuses an empty list
    return this.tokenizer.decode([...ids], { skip_special_tokens: skipSpecial });
  }

  /** One token as text, for axes and tables (bytes that are not whole characters show as �). */
  tokenText(id: number): string {
    return this.decode([id]);
  }
}

/** Reads a tokenizer.json text; throws TokenizerError naming what is wrong with it. */
export function parseTokenizer(source: string): HfTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (err) {
    throw new TokenizerError(`not valid JSON (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new TokenizerError('not a JSON object');
  return new HfTokenizer(json as Json);
}
