// An uploaded corpus is stored once per store, not copied into every manifest.

import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError, decodeCheckpoint } from '../../../src/gpu/checkpoint/checkpoint.ts';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import { FileCheckpointStore } from '../../../src/gpu/checkpoint/store-node.ts';
import { defaultModelConfig } from '../../../src/gpu/model/config.ts';
import type { RunSpec } from '../../../src/gpu/train/protocol.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';
import { cpuEngine } from '../../harness/engine.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** 60 000 characters of a small alphabet. */
const TEXT = Array.from({ length: 60_000 }, (_, i) => 'abcdefgh .'[(i * 7 + (i >> 3)) % 10]).join('');

function textSpec(): RunSpec {
  return {
    id: 'prose',
    name: 'prose',
    backend: 'cpu',
    task: { kind: 'text', seqLen: 16, source: 'user', text: TEXT, name: 'my-notes.txt' },
    model: defaultModelConfig({
      seqLen: 16,
      layers: 1,
      width: 16,
      heads: 2,
      mlpHidden: 16,
      window: 4,
      variant: 'window',
    }),
    train: defaultTrainConfig({ steps: 6, batchSize: 2, evalEvery: 0, checkpointEvery: 2, warmupSteps: 1 }),
  };
}

function engine(store: FileCheckpointStore | MemoryCheckpointStore) {
  return cpuEngine(store);
}

describe('corpus stored once', () => {
  it('keeps one copy of the text beside small manifests, and restores it on load', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-corpus-'));
    dirs.push(dir);
    const store = new FileCheckpointStore(dir);
    const e = engine(store);
    await e.start(textSpec());
    await e.idle();
    const list = await store.list();
    expect(list.map((c) => c.step)).toEqual([2, 4, 6]);
    const names = await readdir(dir);
    const corpora = names.filter((n) => n.startsWith('corpus-'));
    expect(corpora.length).toBe(1);
    expect(await readFile(join(dir, corpora[0]), 'utf8')).toBe(TEXT);
    for (const c of list) {
      const size = (await stat(join(dir, `${c.key}.json`))).size;
      expect(size).toBeLessThan(TEXT.length / 4);
      const stored = JSON.parse(await readFile(join(dir, `${c.key}.json`), 'utf8'));
      expect(stored.corpus).toMatchObject({ name: 'my-notes.txt', length: TEXT.length });
    }
    // Download and load give the whole text back.
    const files = await e.exportCheckpoint(list[1].key);
    expect(decodeCheckpoint(files.weights, files.manifest).manifest.spec.task).toMatchObject({ text: TEXT });
    const spec = await e.loadCheckpoint(list[1].key);
    expect(spec.task).toMatchObject({ kind: 'text', text: TEXT });
    // The stored manifest alone (copied out of the folder) is refused on upload: no text in it.
    const storedManifest = await readFile(join(dir, `${list[1].key}.json`), 'utf8');
    await expect(e.importCheckpoint({ weights: files.weights, manifest: storedManifest })).rejects.toThrow(
      /refers to the corpus "my-notes\.txt" instead of holding it/,
    );
    // A tampered corpus is named, not used.
    await writeFile(join(dir, corpora[0]), `${TEXT.slice(1)}x`);
    await expect(store.get(list[0].key)).rejects.toThrow(CheckpointError);
    await expect(store.get(list[0].key)).rejects.toThrow(/is not the corpus "my-notes\.txt"/);
    await rm(join(dir, corpora[0]));
    await expect(store.get(list[0].key)).rejects.toThrow(/corpus "my-notes\.txt" .* is missing/);
  });

  it('the memory store keeps one copy too', async () => {
    const store = new MemoryCheckpointStore();
    const e = engine(store);
    await e.start(textSpec());
    await e.idle();
    const list = await store.list();
    expect(list.length).toBe(3);
    const files = await store.get(list[0].key);
    expect(JSON.parse(files.manifest).spec.task.text).toBe(TEXT);
    // The stored form (what list() parses) has the reference, not the text.
    const internal = (store as unknown as { items: Map<string, { manifest: string }> }).items;
    for (const f of internal.values()) expect(f.manifest.length).toBeLessThan(TEXT.length / 4);
  });
});
