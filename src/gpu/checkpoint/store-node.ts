// Checkpoints as files in a directory: KEY.safetensors + KEY.json.

import { appendFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointInfo } from '../train/protocol.ts';
import { CHECKPOINT_FORMAT, CheckpointError } from './checkpoint.ts';
import { TEMP_SUFFIX, writeFileAtomic } from './fs-atomic.ts';
import { joinSharedFiles, splitSharedFiles } from './shared-files.ts';
import {
  type CheckpointFilesData,
  type CheckpointStore,
  checkKey,
  infoFromFiles,
  listEntry,
  logName,
} from './store.ts';

export class FileCheckpointStore implements CheckpointStore {
  constructor(private readonly dir: string) {}

  async list(): Promise<CheckpointInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: CheckpointInfo[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const key = name.slice(0, -5);
      const text = await readFile(join(this.dir, name), 'utf8').catch(() => '');
      // Other JSON files (an experiment's results.json) are not checkpoints: skip them.
      if (!names.includes(`${key}.safetensors`) && !text.includes(CHECKPOINT_FORMAT)) continue;
      out.push(
        await listEntry(
          key,
          text,
          async () =>
            (
              await stat(join(this.dir, `${key}.safetensors`)).catch(() => {
                throw new CheckpointError(`${key}.safetensors is missing`);
              })
            ).size,
        ),
      );
    }
    return out.sort((a, b) => a.savedAt.localeCompare(b.savedAt));
  }

  async put(key: string, files: CheckpointFilesData): Promise<CheckpointInfo> {
    checkKey(key);
    const info = infoFromFiles(key, files);
    await mkdir(this.dir, { recursive: true });
    const { manifest, files: shared } = splitSharedFiles(files.manifest);
    // Each file is replaced whole (temporary file, fsync, rename); the corpus, the tokenizer and
    // the weights first: a manifest only ever points at complete files, and a save killed
    // midway leaves the old ones.
    for (const f of shared) {
      const path = join(this.dir, f.name);
      if (!(await stat(path).catch(() => null))) await writeFileAtomic(path, f.text);
    }
    await writeFileAtomic(join(this.dir, `${key}.safetensors`), files.weights);
    await writeFileAtomic(join(this.dir, `${key}.json`), manifest);
    return info;
  }

  async get(key: string): Promise<CheckpointFilesData> {
    checkKey(key);
    const weights = new Uint8Array(await readFile(join(this.dir, `${key}.safetensors`)));
    const stored = await readFile(join(this.dir, `${key}.json`), 'utf8');
    const manifest = await joinSharedFiles(stored, (name) => readFile(join(this.dir, name), 'utf8'));
    return { weights, manifest };
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await rm(join(this.dir, `${key}.json`), { force: true });
    await rm(join(this.dir, `${key}.safetensors`), { force: true });
    // Leftovers of saves that were killed midway.
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const ours = name.startsWith(`${key}.json.`) || name.startsWith(`${key}.safetensors.`);
      if (ours && name.endsWith(TEMP_SUFFIX)) await rm(join(this.dir, name), { force: true });
    }
  }

  async appendLog(runId: string, text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    // Appends are not atomic, but a torn last line loses one row, never earlier ones.
    await appendFile(join(this.dir, logName(runId)), text);
  }

  async readLog(runId: string): Promise<string> {
    return readFile(join(this.dir, logName(runId)), 'utf8').catch(() => '');
  }
}
