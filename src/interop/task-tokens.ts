// The vocabulary a checkpoint was trained with, rebuilt from its task, so an export can carry it
// as tokenizer files. Null when the task cannot be rebuilt here or its size differs from the model's.

import type { RunSpec } from '../config/schema.ts';
import { buildTask, type CorpusLoader } from '../gpu/train/tasks.ts';

/** The base model's tokenizer.json when the run spoke its tokens (it travels in the manifest). */
export function baseTokenizerJson(manifest: { spec: RunSpec; tokenizer?: string }): string | undefined {
  const { task } = manifest.spec;
  const speaks = (task.kind === 'text' || task.kind === 'niah') && task.tokenizer === 'base';
  return speaks ? manifest.tokenizer : undefined;
}

export async function taskTokens(spec: RunSpec, loadCorpus: CorpusLoader): Promise<string[] | null> {
  // A text task in a base model's tokens has no character vocabulary to rebuild.
  if (spec.task.kind === 'text' && spec.task.tokenizer === 'base') return null;
  try {
    const generator = await buildTask(spec.task, spec.train.seed, loadCorpus);
    if (generator.vocab.size !== spec.model.vocabSize) return null;
    return Array.from({ length: generator.vocab.size }, (_, id) => generator.vocab.decode(id));
  } catch {
    return null;
  }
}
