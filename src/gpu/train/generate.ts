// Text generation from a text-task run: the model's own forward pass (so each variant
// generates with its own attention, window band, LagKV selection and ROSA scan) over the last
// seqLen tokens, one token per pass. No key/value cache: at these sizes a full pass per token
// is cheap, and ROSA has to rescan its context anyway. A session is stepped one token at a time
// so that the engine can put each step in its queue and training steps run in between.

import { rng } from '../../common/random.ts';
import { type CharVocabulary, TextTask, type TextVocabulary } from '../../tasks/text.ts';
import type { Sized } from '../model/backend.ts';
import type { ProbeSubject } from './probes.ts';
import type { GeneratedToken, Generation, GenerationRequest } from './protocol.ts';

/** The most tokens one request may sample: four contexts' worth (the context slides). */
export function generationLimit(seqLen: number): number {
  return 4 * seqLen;
}

export const MAX_TEMPERATURE = 10;

function requireText({ spec, task }: ProbeSubject<Sized, Sized>): TextTask {
  if (!(task instanceof TextTask)) {
    throw new Error(
      `run "${spec.name}" was trained on ${spec.task.kind}, not on text: only text runs generate`,
    );
  }
  return task;
}

/**
 * The prompt's token ids. A character vocabulary refuses, by name, the first character it
 * lacks; a tokenizer (a base model's tokenizer.json) spells any text in its own tokens.
 */
export function encodePrompt(prompt: string, vocab: TextVocabulary): number[] {
  if (!isCharVocabulary(vocab)) return [...vocab.encode(prompt)];
  // The last entry is the "unknown" token that folds rare characters: not a prompt character.
  const known = new Map(vocab.chars.slice(0, -1).map((c, i) => [c, i]));
  const ids: number[] = [];
  let at = 0;
  for (const ch of prompt) {
    const id = known.get(ch);
    if (id === undefined) {
      const code = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      const shown = ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch;
      throw new Error(
        `prompt: the character "${shown}" (U+${code}, position ${at + 1}) is not in this model's vocabulary (the ${known.size} characters of its training text)`,
      );
    }
    ids.push(id);
    at++;
  }
  return ids;
}

function isCharVocabulary(vocab: TextVocabulary): vocab is CharVocabulary {
  return 'chars' in vocab;
}

/** Checks a request against the run; throws a message naming the field and its limit. */
export function checkGenerationRequest(request: GenerationRequest, seqLen: number): void {
  const limit = generationLimit(seqLen);
  if (!Number.isInteger(request.length) || request.length < 1 || request.length > limit) {
    throw new Error(
      `length: must be a whole number from 1 to ${limit} (4 × the sequence length ${seqLen}; got ${request.length})`,
    );
  }
  const temp = request.temperature;
  if (!Number.isFinite(temp) || temp < 0 || temp > MAX_TEMPERATURE) {
    throw new Error(`temperature: must be from 0 (greedy) to ${MAX_TEMPERATURE} (got ${temp})`);
  }
  if (!Number.isInteger(request.seed) || request.seed < 0 || request.seed > 0xffffffff) {
    throw new Error(`seed: must be a whole number from 0 to ${0xffffffff} (got ${request.seed})`);
  }
  if (request.prompt.length === 0) throw new Error('prompt: is empty: type at least one character');
}

/**
 * Picks the next token from one row of logits: argmax at temperature 0 (lowest id on ties),
 * else an inverse-CDF draw from softmax(logits / temperature) with the uniform `u` ∈ [0, 1).
 */
export function sampleToken(
  logits: ArrayLike<number>,
  temperature: number,
  u: number,
): { id: number; probability: number } {
  const V = logits.length;
  let best = 0;
  for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
  if (temperature === 0) {
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[v] - logits[best]);
    return { id: best, probability: 1 / sum };
  }
  const weights = new Float64Array(V);
  let sum = 0;
  for (let v = 0; v < V; v++) {
    weights[v] = Math.exp((logits[v] - logits[best]) / temperature);
    sum += weights[v];
  }
  let target = u * sum;
  for (let v = 0; v < V; v++) {
    target -= weights[v];
    if (target < 0) return { id: v, probability: weights[v] / sum };
  }
  // Rounding left a sliver past the last weight: the last token with any weight.
  let last = V - 1;
  while (last > 0 && weights[last] === 0) last--;
  return { id: last, probability: weights[last] / sum };
}

/** One request, sampled token by token (step()), then summed up (result()). */
export class GenerationSession {
  private readonly subject: ProbeSubject<Sized, Sized>;
  private readonly request: GenerationRequest;
  private readonly vocab: TextVocabulary;
  private readonly sequence: number[];
  private readonly uniform: () => number;
  readonly tokens: GeneratedToken[] = [];

  constructor(subject: ProbeSubject<Sized, Sized>, request: GenerationRequest) {
    const task = requireText(subject);
    checkGenerationRequest(request, subject.spec.model.seqLen);
    this.subject = subject;
    this.request = request;
    this.vocab = task.vocab;
    this.sequence = encodePrompt(request.prompt, task.vocab);
    this.uniform = rng(request.seed);
  }

  get done(): boolean {
    return this.tokens.length >= this.request.length;
  }

  /** The context the next token is predicted from: the last seqLen tokens. */
  context(): Int32Array {
    return Int32Array.from(this.sequence.slice(-this.subject.spec.model.seqLen));
  }

  /** Runs one forward pass and samples one token. */
  async step(): Promise<GeneratedToken> {
    if (this.done) throw new Error('generation: all requested tokens were sampled');
    const { model, scanner } = this.subject;
    const context = this.context();
    const T = context.length;
    await model.forward(context, null, 1, T, scanner, false);
    // Only the last position's row: the whole [T, V] is megabytes a token at large vocabularies.
    const logits = await model.readLogitRow(T - 1);
    // One uniform per token, drawn even when greedy, so a seed means the same draws at any temperature.
    const { id, probability } = sampleToken(logits, this.request.temperature, this.uniform());
    this.sequence.push(id);
    const token = { index: this.tokens.length, id, text: this.vocab.decode(id), probability };
    this.tokens.push(token);
    return token;
  }

  result(): Generation {
    return {
      runId: this.subject.spec.id,
      prompt: this.request.prompt,
      text: this.tokens.map((t) => t.text).join(''),
      tokens: [...this.tokens],
      context: this.subject.spec.model.seqLen,
      // Summed up before the last requested token: the generation was cancelled.
      stopped: !this.done,
    };
  }
}
