// A task on a pretrained base model speaks the model's vocabulary: its own token ids must fit
// below the model's vocabulary size, and it reports that size so the embedding and output head
// keep the base model's shape (the ids above the task's own are never produced).

import type { TextTokenizer } from './text.ts';
import { TaskConfigError, type TaskGenerator, type Vocabulary } from './types.ts';

/** The base model's vocabulary as a task needs it. */
export interface BaseVocabulary {
  /** The model's vocabulary size (rows of its embedding). */
  size: number;
  /** Display text of a model token id, when the base has a tokenizer. */
  decode?: (id: number) => string;
  /** The base model's tokenizer (tokenizer.json), for text tasks with `tokenizer: 'base'`. */
  tokenizer?: TextTokenizer;
}

/** The same task, reporting the base model's vocabulary size; throws when the task's ids do not fit. */
export function onBaseVocabulary<T extends TaskGenerator>(task: T, base: BaseVocabulary): T {
  const own = task.vocab;
  if (own.size > base.size) {
    throw new TaskConfigError(
      'vocabSize',
      `the task needs ${own.size} token ids but the base model's vocabulary has ${base.size}`,
    );
  }
  if (own.size === base.size) return task;
  const vocab: Vocabulary = {
    size: base.size,
    decode: (id) => (id < own.size ? own.decode(id) : (base.decode?.(id) ?? `⟨${id}⟩`)),
  };
  // A view with the task as prototype: its methods, fields and class (instanceof) stay the task's.
  return Object.create(task, { vocab: { value: vocab, enumerable: true } }) as T;
}
