// What a store keeps once beside its manifests rather than in each: an uploaded text
// (corpus.ts) and a base model's tokenizer (tokenizer-file.ts).

import { corpusFileName, joinCorpus, splitCorpus } from './corpus.ts';
import { joinTokenizer, splitTokenizer } from './tokenizer-file.ts';

/** Files a store keeps once beside its manifests: the user text and the base model's tokenizer. */
export function splitSharedFiles(manifest: string): {
  manifest: string;
  files: Array<{ name: string; text: string }>;
} {
  const { manifest: withoutText, corpus } = splitCorpus(manifest);
  const { manifest: stored, file } = splitTokenizer(withoutText);
  const files = corpus ? [{ name: corpusFileName(corpus.ref.hash), text: corpus.text }] : [];
  if (file) files.push(file);
  return { manifest: stored, files };
}

/** The stored manifest made whole again (splitSharedFiles undone). */
export async function joinSharedFiles(
  manifest: string,
  read: (fileName: string) => Promise<string>,
): Promise<string> {
  return joinTokenizer(await joinCorpus(manifest, read), read);
}
