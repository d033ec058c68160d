// A checkpoint as a Hugging Face folder in one zip (the Checkpoints tab's "Export to Hugging
// Face"): config.json + model.safetensors, the task's vocabulary as tokenizer files, the ROSA
// adapter in its own files; the same files `npm run export` writes (docs/interop.md).

import { decodeCheckpoint } from '../../gpu/checkpoint/checkpoint.ts';
import type { CheckpointFiles } from '../../gpu/train/client.ts';
import type { CorpusLoader } from '../../gpu/train/tasks.ts';
import { exportHuggingFace } from '../../interop/hf-export.ts';
import { baseTokenizerJson, taskTokens } from '../../interop/task-tokens.ts';
import { storedZip } from './zip.ts';

export interface HfZip {
  bytes: Uint8Array;
  /** The folder inside the archive. */
  folder: string;
  /** Files in it, in order. */
  files: string[];
}

export async function hfFolderZip(
  checkpoint: CheckpointFiles,
  folder: string,
  loadCorpus: CorpusLoader,
): Promise<HfZip> {
  const contents = decodeCheckpoint(checkpoint.weights, checkpoint.manifest);
  const { spec, step } = contents.manifest;
  const tokenizerJson = baseTokenizerJson(contents.manifest);
  const tokens = tokenizerJson === undefined ? await taskTokens(spec, loadCorpus) : null;
  const files = exportHuggingFace({
    config: spec.model,
    parameters: contents.parameters,
    tokens: tokens ?? undefined,
    tokenizerJson,
    source: { run: spec.id, step },
  });
  const inFolder = Object.fromEntries(Object.entries(files).map(([name, c]) => [`${folder}/${name}`, c]));
  return { bytes: storedZip(inFolder), folder, files: Object.keys(files) };
}
