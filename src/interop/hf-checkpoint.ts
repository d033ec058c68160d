// A Hugging Face folder as a playground checkpoint (the page's "Import a Hugging Face model"):
// the imported weights under a run spec whose model is the folder's, so that a run can start
// `from` it like from any trained checkpoint. A tokenizer.json the playground reads (byte-level
// BPE) goes into the manifest (the store keeps it once, tokenizer-file.ts), and the checkpoint's
// task is the bundled corpus in its tokens; without one, in characters (their ids are the
// model's first ones).

import type { RunSpec } from '../config/schema.ts';
import { withRunDefaults } from '../config/walk.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, encodeCheckpoint } from '../gpu/checkpoint/checkpoint.ts';
import type { CheckpointFiles } from '../gpu/train/client.ts';
import type { HfFiles } from './hf-export.ts';
import { type HfImport, importHuggingFace } from './hf-import.ts';
import { type HfTokenizer, parseTokenizer, TokenizerError } from './tokenizer.ts';

/** Sequence length of the imported model's run: its own maximum, capped where a browser trains. */
export const HF_CHECKPOINT_SEQ_LEN = 256;

export interface HfCheckpoint {
  files: CheckpointFiles;
  spec: RunSpec;
  imported: HfImport;
  /** The folder's tokenizer, when it has one the playground reads and it fits the model. */
  tokenizer: HfTokenizer | null;
  /** Why the folder's tokens are not available (no tokenizer.json, another kind, too large); null when they are. */
  tokenizerNote: string | null;
}

/** The folder's tokenizer.json text and parsed tokenizer, or why it cannot be used. */
function folderTokenizer(
  files: HfFiles,
  vocabSize: number,
): { text: string; tokenizer: HfTokenizer } | { note: string } {
  const source = files['tokenizer.json'];
  if (source === undefined) return { note: 'the folder has no tokenizer.json: text in characters' };
  const text = typeof source === 'string' ? source : new TextDecoder().decode(source);
  let tokenizer: HfTokenizer;
  try {
    tokenizer = parseTokenizer(text);
  } catch (err) {
    if (err instanceof TokenizerError) return { note: `${err.message}: text in characters` };
    throw err;
  }
  if (tokenizer.size > vocabSize)
    return { note: `tokenizer.json has ${tokenizer.size} tokens, more than the model's ${vocabSize}` };
  return { text, tokenizer };
}

/** Throws HfImportError (what is unsupported) or CheckpointError (what does not fit the playground). */
export function hfCheckpoint(
  files: HfFiles,
  folder: string,
  savedAt = new Date().toISOString(),
): HfCheckpoint {
  const imported = importHuggingFace(files);
  const seqLen = Math.min(imported.config.seqLen, HF_CHECKPOINT_SEQ_LEN);
  const tokens = folderTokenizer(files, imported.config.vocabSize);
  const kept = 'text' in tokens ? tokens : null;
  const spec = withRunDefaults({
    id: `hf-${folder}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100),
    name: `${folder} (${imported.architecture})`.slice(0, 100),
    task: { kind: 'text', seqLen, source: 'moby-dick', tokenizer: kept ? 'base' : 'chars' },
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
      ...(kept ? { tokenizer: kept.text } : {}),
    },
    parameters: imported.parameters,
    optimizer: null,
  });
  return {
    files: encoded,
    spec,
    imported,
    tokenizer: kept?.tokenizer ?? null,
    tokenizerNote: 'note' in tokens ? tokens.note : null,
  };
}
