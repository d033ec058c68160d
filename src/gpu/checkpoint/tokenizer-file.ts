// A base model's tokenizer.json travels with its checkpoints (manifest.tokenizer, the file's
// text), so that runs started from an imported Hugging Face model can speak its tokens. Like an
// uploaded corpus (corpus.ts) a store keeps it once, as tokenizer-HASH.json, and its manifests
// carry tokenizerRef { name, hash, length } instead; get() puts the text back.

import { type CorpusRef, corpusHash, isCorpusRef, parseManifestObject, readStoredText } from './corpus.ts';
import { CheckpointError } from './errors.ts';

/** The manifest fields: the text in a complete checkpoint, the reference in a store. */
export interface TokenizerFields {
  tokenizer?: string;
  tokenizerRef?: CorpusRef;
}

type Json = Record<string, unknown>;

export function tokenizerFileName(hash: string): string {
  if (!/^[0-9a-f]{16}$/.test(hash)) throw new CheckpointError(`invalid tokenizer hash "${hash}"`);
  return `tokenizer-${hash}.json`;
}

/** Problems with the tokenizer fields of a parsed manifest ([] when good or absent). */
export function tokenizerFieldErrors(m: Json): Array<{ field: string; message: string }> {
  const errors: Array<{ field: string; message: string }> = [];
  if (m.tokenizer !== undefined && (typeof m.tokenizer !== 'string' || m.tokenizer.length === 0))
    errors.push({ field: 'tokenizer', message: 'must be the text of a tokenizer.json' });
  if (m.tokenizerRef !== undefined && (!isCorpusRef(m.tokenizerRef) || m.tokenizer !== undefined))
    errors.push({
      field: 'tokenizerRef',
      message: 'must be {name, hash, length}, without an inline tokenizer',
    });
  return errors;
}

/** Takes the tokenizer out of a (validated) manifest: the manifest to store and the file beside it. */
export function splitTokenizer(manifest: string): {
  manifest: string;
  file: { name: string; text: string } | null;
} {
  const m = JSON.parse(manifest) as Json;
  if (typeof m.tokenizer !== 'string') return { manifest, file: null };
  const text = m.tokenizer;
  const ref: CorpusRef = { name: 'tokenizer.json', hash: corpusHash(text), length: text.length };
  const { tokenizer: _, ...rest } = m;
  return {
    manifest: JSON.stringify({ ...rest, tokenizerRef: ref }),
    file: { name: tokenizerFileName(ref.hash), text },
  };
}

/** Puts a stored tokenizer back into a manifest; checks that it is the file the manifest names. */
export async function joinTokenizer(
  manifest: string,
  read: (fileName: string) => Promise<string>,
): Promise<string> {
  const m = parseManifestObject(manifest);
  if (!m || m.tokenizerRef === undefined) return manifest;
  const ref = m.tokenizerRef;
  if (!isCorpusRef(ref)) throw new CheckpointError('the manifest has an invalid tokenizer reference');
  const text = await readStoredText(
    tokenizerFileName(ref.hash),
    ref,
    read,
    "the base model's tokenizer",
    'speaks',
  );
  const { tokenizerRef: _, ...rest } = m;
  return JSON.stringify({ ...rest, tokenizer: text });
}
