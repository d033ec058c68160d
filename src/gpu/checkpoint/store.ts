// Where checkpoints live: files in Node, the Origin Private File System in the browser.
// A key names both files of one checkpoint.

import type { CheckpointInfo } from '../train/protocol.ts';
import { type CheckpointManifest, parseManifest } from './checkpoint.ts';
import { joinSharedFiles, splitSharedFiles } from './shared-files.ts';

export interface CheckpointFilesData {
  weights: Uint8Array;
  manifest: string;
}

export interface CheckpointStore {
  list(): Promise<CheckpointInfo[]>;
  put(key: string, files: CheckpointFilesData): Promise<CheckpointInfo>;
  get(key: string): Promise<CheckpointFilesData>;
  delete(key: string): Promise<void>;
  /** Appends to a run's full metrics log (JSON lines); manifests keep only a bounded history. */
  appendLog(runId: string, text: string): Promise<void>;
  /** The run's whole metrics log; '' when there is none. */
  readLog(runId: string): Promise<string>;
}

/** File name of a run's metrics log. */
export function logName(runId: string): string {
  return `${runId.replace(/[^A-Za-z0-9_.-]/g, '_')}.metrics.jsonl`;
}

/** Keys are file names: letters, digits, '-', '_' and '.' only. */
export function checkpointKey(runId: string, step: number): string {
  return `${runId.replace(/[^A-Za-z0-9_.-]/g, '_')}-step${step}`;
}

export function checkKey(key: string): void {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(key)) throw new Error(`invalid checkpoint key "${key}"`);
}

export function infoFromManifest(key: string, manifest: CheckpointManifest, bytes: number): CheckpointInfo {
  return {
    key,
    runId: manifest.spec.id,
    name: manifest.spec.name,
    step: manifest.step,
    savedAt: manifest.savedAt,
    bytes,
    variant: manifest.spec.model.variant,
  };
}

/** A stored entry whose manifest cannot be read: listed so it can be seen and deleted. */
export function brokenInfo(key: string, problem: string, bytes = 0): CheckpointInfo {
  return { key, runId: '', name: key, step: 0, savedAt: '', bytes, variant: '', problem };
}

/** Info of one stored entry; a bad one is reported, never thrown, so one bad file can't hide the rest. */
export async function listEntry(
  key: string,
  manifest: string,
  weightsBytes: () => Promise<number>,
): Promise<CheckpointInfo> {
  try {
    const parsed = parseManifest(manifest, `${key}.json`);
    return infoFromManifest(key, parsed, await weightsBytes());
  } catch (err) {
    return brokenInfo(key, err instanceof Error ? err.message : String(err));
  }
}

export function infoFromFiles(key: string, files: CheckpointFilesData): CheckpointInfo {
  return infoFromManifest(key, parseManifest(files.manifest, `${key}.json`), files.weights.byteLength);
}

/** In-memory store (tests, and the browser when OPFS is unavailable: nothing persists then). */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly items = new Map<string, CheckpointFilesData>();
  private readonly logs = new Map<string, string>();
  /** Uploaded texts and base tokenizers by file name, each kept once (see corpus.ts). */
  private readonly corpora = new Map<string, string>();
  async appendLog(runId: string, text: string): Promise<void> {
    this.logs.set(runId, (this.logs.get(runId) ?? '') + text);
  }
  async readLog(runId: string): Promise<string> {
    return this.logs.get(runId) ?? '';
  }
  async list(): Promise<CheckpointInfo[]> {
    const out: CheckpointInfo[] = [];
    for (const [k, f] of this.items)
      out.push(await listEntry(k, f.manifest, async () => f.weights.byteLength));
    return out;
  }
  async put(key: string, files: CheckpointFilesData): Promise<CheckpointInfo> {
    checkKey(key);
    const info = infoFromFiles(key, files);
    const { manifest, files: shared } = splitSharedFiles(files.manifest);
    for (const f of shared) this.corpora.set(f.name, f.text);
    this.items.set(key, { weights: files.weights, manifest });
    return info;
  }
  async get(key: string): Promise<CheckpointFilesData> {
    const f = this.items.get(key);
    if (!f) throw new Error(`no checkpoint "${key}"`);
    const manifest = await joinSharedFiles(f.manifest, async (name) => {
      const text = this.corpora.get(name);
      if (text === undefined) throw new Error(`no ${name}`);
      return text;
    });
    return { weights: f.weights, manifest };
  }
  async delete(key: string): Promise<void> {
    this.items.delete(key);
  }
}
