// Reading a model from disk for the interop commands: a playground checkpoint (KEY.json beside
// KEY.safetensors, either named) or a Hugging Face folder (config.json + model.safetensors
// [+ rosa_adapter.*] [+ vocab.json]); and writing a Hugging Face folder.

import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type CheckpointManifest, decodeCheckpoint } from '../src/gpu/checkpoint/checkpoint.ts';
import { joinSharedFiles } from '../src/gpu/checkpoint/shared-files.ts';
import type { ModelConfig } from '../src/gpu/model/config.ts';
import type { HfFiles } from '../src/interop/hf-export.ts';
import { importHuggingFace } from '../src/interop/hf-import.ts';

export interface LoadedModel {
  config: ModelConfig;
  parameters: Map<string, Float32Array>;
  /** Present when the model came from a playground checkpoint. */
  manifest: CheckpointManifest | null;
  /** What was read, for messages. */
  description: string;
}

/** Called after each file is read: its name, its bytes, the bytes read so far and in all. */
export type ReadProgress = (name: string, bytes: number, done: number, total: number) => void;

/** The files of a Hugging Face folder that the import reads (JSON as text, weights as bytes). */
export async function readHfFolder(dir: string, onFile?: ReadProgress): Promise<HfFiles> {
  const files: HfFiles = {};
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json') || n.endsWith('.safetensors')).sort();
  const sizes = await Promise.all(names.map(async (n) => (await stat(join(dir, n))).size));
  const total = sizes.reduce((a, b) => a + b, 0);
  let done = 0;
  for (const [i, name] of names.entries()) {
    if (name.endsWith('.json')) files[name] = await readFile(join(dir, name), 'utf8');
    else files[name] = new Uint8Array(await readFile(join(dir, name)));
    done += sizes[i];
    onFile?.(name, sizes[i], done, total);
  }
  return files;
}

export async function loadModel(path: string): Promise<LoadedModel> {
  const full = resolve(path);
  const isDir = await stat(full).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDir) {
    const imported = importHuggingFace(await readHfFolder(full));
    return {
      config: imported.config,
      parameters: imported.parameters,
      manifest: null,
      description: `${imported.architecture} folder ${full}`,
    };
  }
  const base = full.replace(/\.(json|safetensors)$/, '');
  // A checkpoint in a store's folder: its corpus and tokenizer lie beside it (shared-files.ts);
  // a manifest copied out alone is used as it is.
  const stored = await readFile(`${base}.json`, 'utf8');
  const manifestText = await joinSharedFiles(stored, (name) =>
    readFile(join(dirname(base), name), 'utf8'),
  ).catch(() => stored);
  const weights = new Uint8Array(await readFile(`${base}.safetensors`));
  const contents = decodeCheckpoint(weights, manifestText, {
    weights: `${base}.safetensors`,
    manifest: `${base}.json`,
  });
  return {
    config: contents.manifest.spec.model,
    parameters: contents.parameters,
    manifest: contents.manifest,
    description: `checkpoint ${base} (step ${contents.manifest.step})`,
  };
}

export async function writeFolder(dir: string, files: HfFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, contents] of Object.entries(files)) await writeFile(join(dir, name), contents);
}
