// The files of a Hugging Face folder the user picked (a folder input or several files) as a base
// checkpoint, reporting progress between the steps so that the page can show it.

import type { CheckpointFiles } from '../../gpu/train/client.ts';
import { hfCheckpoint } from '../../interop/hf-checkpoint.ts';
import type { HfFiles } from '../../interop/hf-export.ts';

export type HfPickProgress =
  | { stage: 'reading'; name: string; bytes: number; done: number; total: number }
  | { stage: 'converting' }
  | { stage: 'storing' };

export interface PickedModel {
  files: CheckpointFiles;
  parameters: number;
  /** Tokens of the folder's tokenizer.json, kept with the checkpoint; null when none was kept. */
  tokenizerSize: number | null;
  /** Why the tokenizer was not kept (null when it was). */
  tokenizerNote: string | null;
}

/** A file's path inside the picked folder ("folder/config.json"), or its bare name. */
function pathOf(file: File): string[] {
  const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath;
  return (relative || file.name).split('/');
}

const nextFrame = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export async function readHfPick(
  picked: File[],
  onProgress: (p: HfPickProgress) => void,
): Promise<PickedModel> {
  // The folder's own files only (not e.g. original/ or onnx/ below it).
  const wanted = picked.filter((f) => {
    const parts = pathOf(f);
    const name = parts[parts.length - 1];
    return parts.length <= 2 && (name.endsWith('.json') || name.endsWith('.safetensors'));
  });
  if (!wanted.some((f) => f.name === 'config.json'))
    throw new Error(
      `config.json is missing among the ${picked.length} picked file(s): pick the model's folder, or its config.json and model*.safetensors together`,
    );
  const folder = pathOf(wanted[0]).length === 2 ? pathOf(wanted[0])[0] : 'model';
  const total = wanted.reduce((a, f) => a + f.size, 0);
  const files: HfFiles = {};
  let done = 0;
  for (const f of wanted) {
    onProgress({ stage: 'reading', name: f.name, bytes: f.size, done, total });
    await nextFrame();
    files[f.name] = f.name.endsWith('.json') ? await f.text() : new Uint8Array(await f.arrayBuffer());
    done += f.size;
  }
  onProgress({ stage: 'converting' });
  await nextFrame();
  const checkpoint = hfCheckpoint(files, folder);
  const parameters = [...checkpoint.imported.parameters.values()].reduce((a, p) => a + p.length, 0);
  return {
    files: checkpoint.files,
    parameters,
    tokenizerSize: checkpoint.tokenizer?.size ?? null,
    tokenizerNote: checkpoint.tokenizerNote,
  };
}
