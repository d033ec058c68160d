// An uploaded corpus is stored once, not copied into every checkpoint's manifest: a store
// keeps it as corpus-HASH.txt and its manifests carry { name, hash, length } instead of the
// text. get() puts the text back, so a downloaded checkpoint is complete on its own.

import { configHash } from './config-hash.ts';
import { CheckpointError } from './errors.ts';

export interface CorpusRef {
  name: string;
  /** configHash of the text: 16 hex digits. */
  hash: string;
  /** Characters in the text (a second check against a wrong file). */
  length: number;
}

export interface StoredCorpus {
  ref: CorpusRef;
  text: string;
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

export function corpusHash(text: string): string {
  return configHash(text);
}

/** File name of a stored corpus. */
export function corpusFileName(hash: string): string {
  if (!/^[0-9a-f]{16}$/.test(hash)) throw new CheckpointError(`invalid corpus hash "${hash}"`);
  return `corpus-${hash}.txt`;
}

export function isCorpusRef(x: unknown): x is CorpusRef {
  return (
    isObject(x) &&
    typeof x.name === 'string' &&
    typeof x.hash === 'string' &&
    /^[0-9a-f]{16}$/.test(x.hash) &&
    typeof x.length === 'number' &&
    Number.isInteger(x.length) &&
    x.length > 0
  );
}

/**
 * Takes a user text out of a (validated) manifest: the manifest to store, with a reference
 * in place of the text, and the corpus to store beside it; no corpus for other tasks.
 */
export function splitCorpus(manifest: string): { manifest: string; corpus: StoredCorpus | null } {
  const m = JSON.parse(manifest) as Json;
  const task = isObject(m.spec) ? m.spec.task : null;
  if (!isObject(task) || task.kind !== 'text' || task.source !== 'user' || typeof task.text !== 'string') {
    return { manifest, corpus: null };
  }
  const text = task.text;
  const ref: CorpusRef = {
    name: typeof task.name === 'string' ? task.name : 'text',
    hash: corpusHash(text),
    length: text.length,
  };
  const { text: _, ...rest } = task;
  const spec = { ...(m.spec as Json), task: rest };
  return { manifest: JSON.stringify({ ...m, spec, corpus: ref }), corpus: { ref, text } };
}

/** A manifest's JSON object, or null when it does not parse (the loader names what is wrong). */
export function parseManifestObject(manifest: string): Json | null {
  try {
    const m = JSON.parse(manifest) as unknown;
    return isObject(m) ? m : null;
  } catch {
    return null;
  }
}

/**
 * Reads a file a store keeps once for many manifests (a corpus, a tokenizer) and checks it is
 * the one `ref` names. `what` names it for a person ("the corpus "moby.txt""), `use` says what
 * the checkpoint does with it ("was trained on").
 */
export async function readStoredText(
  file: string,
  ref: CorpusRef,
  read: (fileName: string) => Promise<string>,
  what: string,
  use: string,
): Promise<string> {
  let text: string;
  try {
    text = await read(file);
  } catch {
    throw new CheckpointError(`${what} (${file}) this checkpoint ${use} is missing`);
  }
  if (text.length !== ref.length || corpusHash(text) !== ref.hash) {
    throw new CheckpointError(`${file} is not ${what} this checkpoint ${use}`);
  }
  return text;
}

/** Puts a stored corpus back into a manifest; checks that it is the text the manifest names. */
export async function joinCorpus(
  manifest: string,
  read: (fileName: string) => Promise<string>,
): Promise<string> {
  const m = parseManifestObject(manifest);
  const ref = m?.corpus;
  if (!m || ref === undefined || !isObject(m.spec) || !isObject(m.spec.task)) return manifest;
  if (!isCorpusRef(ref)) throw new CheckpointError('the manifest has an invalid corpus reference');
  const text = await readStoredText(
    corpusFileName(ref.hash),
    ref,
    read,
    `the corpus "${ref.name}"`,
    'was trained on',
  );
  const { corpus: _, ...rest } = m;
  const spec = { ...m.spec, task: { ...m.spec.task, text } };
  return JSON.stringify({ ...rest, spec });
}
