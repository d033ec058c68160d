// Builds the task generator a run spec names, and the evaluation helpers that need to
// know what a task's answer looks like.

import { type BaseVocabulary, onBaseVocabulary } from '../../tasks/base-vocab.ts';
import { InductionTask } from '../../tasks/induction.ts';
import { MqarTask } from '../../tasks/mqar.ts';
import { NiahTask } from '../../tasks/niah.ts';
import { TextTask } from '../../tasks/text.ts';
import { TaskConfigError, type TaskGenerator } from '../../tasks/types.ts';
import type { TaskSpec } from './protocol.ts';

export type CorpusLoader = (name: 'moby-dick') => Promise<string>;

/** The task a spec names; on a pretrained base model, in that model's vocabulary. */
export async function buildTask(
  spec: TaskSpec,
  seed: number,
  loadCorpus: CorpusLoader,
  base?: BaseVocabulary,
): Promise<TaskGenerator> {
  const task = await buildOwnTask(spec, seed, loadCorpus, base);
  return base ? onBaseVocabulary(task, base) : task;
}

async function buildOwnTask(
  spec: TaskSpec,
  seed: number,
  loadCorpus: CorpusLoader,
  base: BaseVocabulary | undefined,
): Promise<TaskGenerator> {
  switch (spec.kind) {
    case 'niah':
      return new NiahTask({
        tokenizer: baseTokenizer(spec.tokenizer, base),
        seqLen: spec.seqLen,
        keyLength: spec.keyLength,
        filler: spec.filler,
        corpus: spec.filler === 'corpus' ? await loadCorpus(spec.corpus ?? 'moby-dick') : undefined,
        loss: spec.loss ?? 'answer',
        seed,
      });
    case 'mqar':
      return new MqarTask({
        seqLen: spec.seqLen,
        vocabSize: spec.vocabSize,
        pairs: spec.pairs,
        gaps: spec.gaps,
        randomFiller: spec.randomFiller,
        seed,
      });
    case 'induction':
      return new InductionTask({
        seqLen: spec.seqLen,
        vocabSize: spec.vocabSize,
        segment: spec.segment,
        seed,
      });
    case 'text': {
      const tokenizer = baseTokenizer(spec.tokenizer, base);
      const text = spec.source === 'user' ? (spec.text ?? '') : await loadCorpus('moby-dick');
      return new TextTask({
        text,
        seqLen: spec.seqLen,
        seed,
        source: spec.source === 'user' ? (spec.name ?? 'text') : 'moby-dick',
        repeat: spec.repeat ?? 0,
        // On a base model, the rarest characters share the unknown token when they would not fit.
        ...(base ? { maxVocab: Math.min(256, base.size) } : {}),
        tokenizer,
      });
    }
  }
}

/** The base model's tokenizer when the task asks for it (`tokenizer: 'base'`); throws when there is none. */
function baseTokenizer(choice: 'chars' | 'base' | undefined, base: BaseVocabulary | undefined) {
  if (choice !== 'base') return undefined;
  if (!base?.tokenizer)
    throw new TaskConfigError(
      'tokenizer',
      "'base' needs a base model with a byte-level BPE tokenizer.json (--base hf:<folder>, or a Hugging Face base imported with its tokenizer in the page); use 'chars' otherwise",
    );
  return base.tokenizer;
}

/** Argmax over each row of logits [rows, V]. */
export function argmaxRows(logits: Float32Array, rows: number, V: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = logits[r * V];
    for (let v = 1; v < V; v++) {
      const x = logits[r * V + v];
      if (x > bestValue) {
        bestValue = x;
        best = v;
      }
    }
    out[r] = best;
  }
  return out;
}

/** Per sample: true when every labelled position's argmax equals its label (greedy exact match). */
export function exactMatches(
  logits: Float32Array,
  targets: Int32Array,
  B: number,
  T: number,
  V: number,
): boolean[] {
  const pred = argmaxRows(logits, B * T, V);
  const out: boolean[] = [];
  for (let b = 0; b < B; b++) {
    let ok = true;
    let any = false;
    for (let t = 0; t < T; t++) {
      const label = targets[b * T + t];
      if (label < 0) continue;
      any = true;
      if (pred[b * T + t] !== label) ok = false;
    }
    out.push(ok && any);
  }
  return out;
}

/** Cross-entropy of each labelled position, NaN where unlabelled (for loss-by-position charts). */
export function positionLosses(
  logits: Float32Array,
  targets: Int32Array,
  rows: number,
  V: number,
): Float64Array {
  const out = new Float64Array(rows).fill(Number.NaN);
  for (let r = 0; r < rows; r++) {
    const label = targets[r];
    if (label < 0) continue;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[r * V + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v] - max);
    out[r] = Math.log(sum) + max - logits[r * V + label];
  }
  return out;
}
