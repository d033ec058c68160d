// The Generate tab's form: the four fields as typed, checked before the engine is asked (the
// engine checks again, and alone knows the vocabulary, so prompt characters are its to refuse).

import { generationLimit, MAX_TEMPERATURE } from '../../gpu/train/generate.ts';
import type { GenerationRequest } from '../../gpu/train/protocol.ts';

export interface GenerateForm {
  prompt: string;
  length: string;
  temperature: string;
  seed: string;
}

export const DEFAULT_GENERATE_FORM: GenerateForm = {
  prompt: 'Call me ',
  length: '120',
  temperature: '0.8',
  seed: '1',
};

export type FormField = keyof GenerateForm;

/** The request, or a message per invalid field naming its limit. */
export function parseGenerateForm(
  form: GenerateForm,
  runId: string,
  seqLen: number,
):
  | { request: GenerationRequest; errors: null }
  | { request: null; errors: Partial<Record<FormField, string>> } {
  const errors: Partial<Record<FormField, string>> = {};
  const limit = generationLimit(seqLen);
  const length = Number(form.length);
  if (form.length.trim() === '' || !Number.isInteger(length) || length < 1 || length > limit)
    errors.length = `Characters to generate must be a whole number from 1 to ${limit} (4 × the sequence length).`;
  const temperature = Number(form.temperature);
  if (form.temperature.trim() === '' || !(temperature >= 0 && temperature <= MAX_TEMPERATURE))
    errors.temperature = `Temperature must be from 0 (greedy) to ${MAX_TEMPERATURE}.`;
  const seed = Number(form.seed);
  if (form.seed.trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    errors.seed = `Seed must be a whole number from 0 to ${0xffffffff}.`;
  if (form.prompt.length === 0) errors.prompt = 'Type a prompt of at least one character.';
  if (Object.keys(errors).length > 0) return { request: null, errors };
  return { request: { runId, prompt: form.prompt, length, temperature, seed }, errors: null };
}
