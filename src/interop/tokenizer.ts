// A Hugging Face tokenizer.json of the byte-level BPE kind (GPT-2, Llama 3, Qwen2/2.5/3,
// SmolLM2): encode and decode as the `tokenizers` library does, without it. The text is
// normalised (NFC/NFD/NFKC/NFKD, if asked), cut at added tokens (matched whole), split by the
// pre-tokenizers (a regex Split, Digits, ByteLevel with or without its GPT-2 regex), each piece's
// UTF-8 bytes are spelled with the byte-level alphabet and merged pair by pair, lowest rank
// first. No post-processor: encode never adds BOS/EOS, since tasks cut sequences out of a stream.
// Anything else in the file (WordPiece, Unigram, Metaspace, byte fallback…) is refused by name.

export class TokenizerError extends Error {
  constructor(message: string) {
    super(`tokenizer.json: ${message}`);
    this.name = 'TokenizerError';
  }
}

type Json = Record<string, unknown>;

/** GPT-2's split, which ByteLevel applies when use_regex is true. */
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest for U+0100 onwards. */
function byteAlphabet(): { toChar: string[]; toByte: Map<string, number> } {
  const toChar = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    toChar[b] = String.fromCharCode(printable ? b : 256 + next++);
  }
  return { toChar, toByte: new Map(toChar.map((c, b) => [c, b])) };
}
const BYTES = byteAlphabet();
const utf8 = new TextEncoder();

/**
 * An Oniguruma pattern as a JavaScript one: `(?i:…)` groups (Node 20 lacks regex modifiers)
 * become explicit [xX] letters; the rest of these patterns means the same under the `u` flag.
 */
export function jsPattern(pattern: string): string {
  return pattern.replace(/\(\?i:((?:[^()\\]|\\.)*)\)/g, (_, body: string) => {
    let out = '';
    for (let i = 0; i < body.length; i++) {
      const c = body[i];
      if (c === '\\') {
        out += body.slice(i, i + 2);
        i++;
      } else if (/[a-z]/i.test(c)) out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      else out += c;
    }
    return `(?:${out})`;
  });
}

/** Pieces of a text split at the matches of a regex: matches and the text between them, in order. */
function splitIsolated(text: string, regex: RegExp): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of text.matchAll(regex)) {
    if (m[0].length === 0) continue;
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

type PreTokenizer = (pieces: string[]) => string[];

function regexOf(source: string, where: string): RegExp {
  try {
    return new RegExp(jsPattern(source), 'gu');
  } catch (err) {
    throw new TokenizerError(`${where}: the pattern cannot be used here (${(err as Error).message})`);
  }
}

function preTokenizer(
  spec: Json | null,
  where = 'pre_tokenizer',
): { split: PreTokenizer; byteLevel: boolean } {
  if (spec === null) return { split: (p) => p, byteLevel: false };
  switch (spec.type) {
    case 'Sequence': {
      const steps = ((spec.pretokenizers ?? []) as Json[]).map((s, i) =>
        preTokenizer(s, `${where}.pretokenizers[${i}]`),
      );
      return {
        split: (pieces) => steps.reduce((acc, s) => s.split(acc), pieces),
        byteLevel: steps.some((s) => s.byteLevel),
      };
    }
    case 'ByteLevel': {
      if (spec.add_prefix_space === true)
        throw new TokenizerError(`${where}: add_prefix_space is not supported`);
      const regex = spec.use_regex === false ? null : regexOf(GPT2_PATTERN, where);
      return {
        split: (pieces) => (regex ? pieces.flatMap((p) => splitIsolated(p, regex)) : pieces),
        byteLevel: true,
      };
    }
    case 'Split': {
      const pattern = spec.pattern as Json;
      const behavior = spec.behavior;
      if (spec.invert === true || behavior !== 'Isolated')
        throw new TokenizerError(`${where}: only Split with behavior Isolated (not inverted) is supported`);
      const regex =
        typeof pattern.Regex === 'string'
          ? regexOf(pattern.Regex, where)
          : new RegExp(String(pattern.String).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
      return { split: (pieces) => pieces.flatMap((p) => splitIsolated(p, regex)), byteLevel: false };
    }
    case 'Digits': {
      const regex = spec.individual_digits === true ? /\p{N}/gu : /\p{N}+/gu;
      return { split: (pieces) => pieces.flatMap((p) => splitIsolated(p, regex)), byteLevel: false };
    }
    default:
      throw new TokenizerError(
        `${where}: type "${String(spec.type)}" is not supported (ByteLevel, Split, Digits, Sequence)`,
      );
  }
}

function normalizer(spec: Json | null): (text: string) => string {
  if (spec === null) return (t) => t;
  if (spec.type === 'Sequence') {
    const steps = ((spec.normalizers ?? []) as Json[]).map(normalizer);
    return (t) => steps.reduce((acc, f) => f(acc), t);
  }
  const form = String(spec.type);
  if (form === 'NFC' || form === 'NFD' || form === 'NFKC' || form === 'NFKD') return (t) => t.normalize(form);
  throw new TokenizerError(`normalizer "${form}" is not supported (NFC, NFD, NFKC, NFKD, Sequence)`);
}

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

export class BpeTokenizer {
  /** Token ids: the largest id + 1 (models often have a larger vocab_size still). */
  readonly size: number;
  private readonly vocab: Map<string, number>;
  private readonly tokens: string[];
  private readonly ranks: Map<string, number>;
  private readonly added: AddedToken[];
  private readonly addedById: Map<number, AddedToken>;
  private readonly addedRegex: RegExp | null;
  private readonly normalize: (t: string) => string;
  private readonly split: PreTokenizer;
  private readonly ignoreMerges: boolean;
  private readonly unk: number | null;
  private readonly cache = new Map<string, number[]>();

  constructor(json: Json) {
    const model = (json.model ?? {}) as Json;
    if (model.type !== 'BPE')
      throw new TokenizerError(`model type "${String(model.type)}" is not supported (byte-level BPE only)`);
    for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const)
      if (model[key]) throw new TokenizerError(`model.${key} is not supported`);
    if (model.byte_fallback === true) throw new TokenizerError('model.byte_fallback is not supported');
    const pre = preTokenizer((json.pre_tokenizer ?? null) as Json | null);
    if (!pre.byteLevel)
      throw new TokenizerError('the pre-tokenizer has no ByteLevel step: only byte-level BPE is supported');
    this.split = pre.split;
    this.normalize = normalizer((json.normalizer ?? null) as Json | null);
    this.vocab = new Map(Object.entries((model.vocab ?? {}) as Record<string, number>));
    this.ranks = new Map();
    ((model.merges ?? []) as Array<string | [string, string]>).forEach((m, rank) => {
      const [a, b] = typeof m === 'string' ? splitMerge(m) : m;
      this.ranks.set(`${a} ${b}`, rank);
    });
    this.ignoreMerges = model.ignore_merges === true;
    this.added = ((json.added_tokens ?? []) as Json[]).map((t) => ({
      id: Number(t.id),
      content: String(t.content),
      special: t.special === true,
    }));
    this.addedById = new Map(this.added.map((t) => [t.id, t]));
    // Longest first, so that one added token that starts another does not cut it.
    const alternatives = [...this.added]
      .sort((a, b) => b.content.length - a.content.length)
      .map((t) => t.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.addedRegex = alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'gu') : null;
    const ids = [...this.vocab.values(), ...this.added.map((t) => t.id)];
    this.size = ids.reduce((a, b) => Math.max(a, b), -1) + 1;
    this.tokens = new Array<string>(this.size).fill('');
    for (const [t, id] of this.vocab) this.tokens[id] = t;
    for (const t of this.added) this.tokens[t.id] = t.content;
    const unk = typeof model.unk_token === 'string' ? this.vocab.get(model.unk_token) : undefined;
    this.unk = unk ?? null;
  }

  /** Token ids of a text (no BOS/EOS). */
  encode(text: string): number[] {
    const out: number[] = [];
    const segments = this.addedRegex ? splitIsolated(text, this.addedRegex) : [text];
    for (const segment of segments) {
      const added = this.added.find((t) => t.content === segment);
      if (added) {
        out.push(added.id);
        continue;
      }
      for (const piece of this.split([this.normalize(segment)])) out.push(...this.encodePiece(piece));
    }
    return out;
  }

  /** The text of token ids; special tokens are left out when `skipSpecial`. */
  decode(ids: readonly number[], skipSpecial = false): string {
    let text = '';
    let bytes: number[] = [];
    const flush = () => {
      text += new TextDecoder().decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const added = this.addedById.get(id);
      if (added) {
        flush();
        if (!(skipSpecial && added.special)) text += added.content;
        continue;
      }
      for (const c of this.tokens[id] ?? '') {
        const b = BYTES.toByte.get(c);
        if (b === undefined) bytes.push(...utf8.encode(c));
        else bytes.push(b);
      }
    }
    flush();
    return text;
  }

  /** One token as text, for axes and tables (bytes that are not whole characters show as �). */
  tokenText(id: number): string {
    return this.decode([id]);
  }

  private encodePiece(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    const spelled = Array.from(utf8.encode(piece), (b) => BYTES.toChar[b]).join('');
    const whole = this.vocab.get(spelled);
    let ids: number[];
    if (this.ignoreMerges && whole !== undefined) ids = [whole];
    else ids = this.merge([...spelled]).map((s) => this.idOf(s, piece));
    if (this.cache.size < 100_000) this.cache.set(piece, ids);
    return ids;
  }

  /** BPE: merge the adjacent pair of lowest rank, everywhere it occurs, until none has a rank. */
  private merge(symbols: string[]): string[] {
    let word = symbols;
    for (;;) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) return word;
      const [a, b] = [word[best], word[best + 1]];
      const next: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(word[i]);
      }
      word = next;
    }
  }

  private idOf(symbol: string, piece: string): number {
    const id = this.vocab.get(symbol);
    if (id !== undefined) return id;
    if (this.unk !== null) return this.unk;
    throw new TokenizerError(
      `"${piece}" needs the symbol "${symbol}", which the vocabulary lacks (and there is no unk_token)`,
    );
  }
}

function splitMerge(m: string): [string, string] {
  const at = m.indexOf(' ', 1);
  if (at < 0) throw new TokenizerError(`merge "${m}" is not two symbols`);
  return [m.slice(0, at), m.slice(at + 1)];
}

/** Reads a tokenizer.json text; throws TokenizerError for what is not byte-level BPE. */
export function parseTokenizer(source: string): BpeTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (err) {
    throw new TokenizerError(`not valid JSON (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new TokenizerError('not a JSON object');
  return new BpeTokenizer(json as Json);
}
