// A Hugging Face folder as a playground checkpoint (the page's "Import a Hugging Face model"):
// the imported weights under a run spec whose model is the folder's, so that a run can start
// `from` it like from any trained checkpoint. Its task is text on the bundled corpus in
// characters (their ids are the model's first ones): the tokenizer is not kept in the store, so
// text in the model's own tokens is for the command line (`--base hf:<dir> --task.tokenizer base`).

import type { RunSpec } from '../config/schema.ts';
import { withRunDefaults } from '../config/walk.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, encodeCheckpoint } from '../gpu/checkpoint/checkpoint.ts';
import type { CheckpointFiles } from '../gpu/train/client.ts';
import type { HfFiles } from './hf-export.ts';
import { type HfImport, importHuggingFace } from './hf-import.ts';

/** Sequence length of the imported model's run: its own maximum, capped where a browser trains. */
export const HF_CHECKPOINT_SEQ_LEN = 256;

export interface HfCheckpoint {
  files: CheckpointFiles;
  spec: RunSpec;
  imported: HfImport;
}

/** Throws HfImportError (what is unsupported) or CheckpointError (what does not fit the playground). */
export function hfCheckpoint(
  files: HfFiles,
  folder: string,
  savedAt = new Date().toISOString(),
): HfCheckpoint {
  const imported = importHuggingFace(files);
  const seqLen = Math.min(imported.config.seqLen, HF_CHECKPOINT_SEQ_LEN);
  const spec = withRunDefaults({
    id: `hf-${folder}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100),
    name: `${folder} (${imported.architecture})`.slice(0, 100),
    task: { kind: 'text', seqLen, source: 'moby-dick', tokenizer: 'chars' },
    model: { ...imported.config, seqLen, window: Math.min(imported.config.window, seqLen - 1) },
    train: {},
    backend: 'webgpu',
  }) as RunSpec;
  const encoded = encodeCheckpoint({
    manifest: {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      spec,
      step: 0,
      savedAt,
      metrics: { steps: [], evals: [] },
    },
    parameters: imported.parameters,
    optimizer: null,
  });
  return { files: encoded, spec, imported };
}
