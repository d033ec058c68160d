// Checkpoints in the browser's Origin Private File System (persists across reloads;
// available in windows and workers): directory "checkpoints", KEY.safetensors + KEY.json.

import type { CheckpointInfo } from '../train/protocol.ts';
import { CHECKPOINT_FORMAT, CheckpointError } from './checkpoint.ts';
import { joinSharedFiles, splitSharedFiles } from './shared-files.ts';
import {
  type CheckpointFilesData,
  type CheckpointStore,
  checkKey,
  infoFromFiles,
  listEntry,
  logName,
} from './store.ts';

async function directory(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle('checkpoints', { create: true });
}

/**
 * Replaces one file whole. createWritable() writes to a swap file that the browser moves over
 * the target only on close(); a tab closed or a worker killed before that leaves the old
 * file as it was, and abort() discards the swap file when a write fails.
 */
async function writeFileHandle(dir: FileSystemDirectoryHandle, name: string, data: Uint8Array | string) {
  const handle = await dir.getFileHandle(name, { create: true });
  const writable = await handle.createWritable({ keepExistingData: false });
  try {
    await writable.write(typeof data === 'string' ? data : new Blob([data as Uint8Array<ArrayBuffer>]));
  } catch (err) {
    await writable.abort().catch(() => undefined);
    throw err;
  }
  await writable.close();
}

export function opfsAvailable(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function';
}

export class OpfsCheckpointStore implements CheckpointStore {
  async list(): Promise<CheckpointInfo[]> {
    const dir = await directory();
    const out: CheckpointInfo[] = [];
    const entries: Array<[string, FileSystemHandle]> = [];
    for await (const entry of (
      dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }
    ).entries())
      entries.push(entry);
    const names = new Set(entries.map(([name]) => name));
    for (const [name, handle] of entries) {
      if (!name.endsWith('.json') || handle.kind !== 'file') continue;
      const key = name.slice(0, -5);
      const text = await (handle as FileSystemFileHandle)
        .getFile()
        .then((f) => f.text())
        .catch(() => '');
      if (!names.has(`${key}.safetensors`) && !text.includes(CHECKPOINT_FORMAT)) continue;
      out.push(
        await listEntry(key, text, async () => {
          const weights = await dir.getFileHandle(`${key}.safetensors`).catch(() => {
            throw new CheckpointError(`${key}.safetensors is missing`);
          });
          return (await weights.getFile()).size;
        }),
      );
    }
    return out.sort((a, b) => a.savedAt.localeCompare(b.savedAt));
  }

  async put(key: string, files: CheckpointFilesData): Promise<CheckpointInfo> {
    checkKey(key);
    const info = infoFromFiles(key, files);
    const dir = await directory();
    // The manifest last: list() shows only keys with a manifest, so a save interrupted
    // before it completes is never listed.
    const { manifest, files: shared } = splitSharedFiles(files.manifest);
    for (const f of shared) {
      const have = await dir.getFileHandle(f.name).then(
        () => true,
        () => false,
      );
      if (!have) await writeFileHandle(dir, f.name, f.text);
    }
    await writeFileHandle(dir, `${key}.safetensors`, files.weights);
    await writeFileHandle(dir, `${key}.json`, manifest);
    return info;
  }

  async get(key: string): Promise<CheckpointFilesData> {
    checkKey(key);
    const dir = await directory();
    const weights = new Uint8Array(
      await (await (await dir.getFileHandle(`${key}.safetensors`)).getFile()).arrayBuffer(),
    );
    const stored = await (await (await dir.getFileHandle(`${key}.json`)).getFile()).text();
    const manifest = await joinSharedFiles(stored, async (name) =>
      (await (await dir.getFileHandle(name)).getFile()).text(),
    );
    return { weights, manifest };
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    const dir = await directory();
    for (const name of [`${key}.json`, `${key}.safetensors`]) {
      try {
        await dir.removeEntry(name);
      } catch {
        // already gone
      }
    }
  }

  async appendLog(runId: string, text: string): Promise<void> {
    const dir = await directory();
    const handle = await dir.getFileHandle(logName(runId), { create: true });
    const size = (await handle.getFile()).size;
    // keepExistingData copies the file into the swap file; the append commits on close().
    const writable = await handle.createWritable({ keepExistingData: true });
    try {
      await writable.seek(size);
      await writable.write(text);
    } catch (err) {
      await writable.abort().catch(() => undefined);
      throw err;
    }
    await writable.close();
  }

  async readLog(runId: string): Promise<string> {
    try {
      const dir = await directory();
      return await (await (await dir.getFileHandle(logName(runId))).getFile()).text();
    } catch {
      return '';
    }
  }
}
