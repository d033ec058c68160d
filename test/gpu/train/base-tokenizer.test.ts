// A Hugging Face folder imported in the page with its tokenizer.json: the checkpoint keeps the
// tokenizer (the store once, as tokenizer-HASH.json), runs started from it use the base model's
// tokens for text and NIAH, their checkpoints carry the tokenizer on, and Generate speaks it.

import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../../src/gpu/checkpoint/checkpoint.ts';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import { FileCheckpointStore } from '../../../src/gpu/checkpoint/store-node.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import type { RunSpec, TrainerEvent } from '../../../src/gpu/train/protocol.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';
import { hfCheckpoint } from '../../../src/interop/hf-checkpoint.ts';
import { exportHuggingFace } from '../../../src/interop/hf-export.ts';
import { parseTokenizer } from '../../../src/interop/tokenizer.ts';
import { loadCorpusNode } from '../../../src/tasks/corpus-node.ts';
import { hfFolderZip } from '../../../src/ui/export/hf-folder.ts';
import { cpuEngine } from '../../harness/engine.ts';
import { fixtureConfig, seededParameters } from '../../interop/seeded-model.ts';
import { readStoredZip } from '../../ui/export/read-zip.ts';

const TOKENIZER = readFileSync(
  join(import.meta.dirname, '..', '..', 'fixtures', 'tokenizer', 'qwen2', 'tokenizer.json'),
  'utf8',
);
const tokenizer = parseTokenizer(TOKENIZER);

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A playground fixture model at the tokenizer's 400 ids, as a Hugging Face folder with its tokenizer.json. */
function folder(withTokenizer = true) {
  const config = fixtureConfig({ vocabSize: tokenizer.size, seqLen: 64, variant: 'window', window: 4 });
  const files = exportHuggingFace({ config, parameters: seededParameters(config, 8) });
  return withTokenizer ? { ...files, 'tokenizer.json': TOKENIZER } : files;
}

function engineOn(store: FileCheckpointStore | MemoryCheckpointStore) {
  const engine = cpuEngine(store, inlineScanner(), async (name) => loadCorpusNode(name));
  const errors: string[] = [];
  engine.subscribe((e: TrainerEvent) => {
    if (e.type === 'error') errors.push(e.message);
  });
  return { engine, errors };
}

function runFrom(from: string, id: string, task: RunSpec['task'], model: RunSpec['model']): RunSpec {
  return {
    id,
    name: id,
    backend: 'cpu',
    task,
    model: { ...model, seqLen: task.seqLen, window: 4 },
    train: defaultTrainConfig({ steps: 2, batchSize: 2, evalEvery: 0, checkpointEvery: 2, warmupSteps: 1 }),
    from,
  };
}

describe("an imported model's tokenizer in the page", () => {
  it('is kept in the checkpoint, and the task of the checkpoint is the corpus in its tokens', () => {
    const hf = hfCheckpoint(folder(), 'tiny-qwen', '2026-01-01T00:00:00.000Z');
    expect(hf.tokenizer?.size).toBe(400);
    expect(hf.tokenizerNote).toBeNull();
    expect(hf.spec.task).toMatchObject({ kind: 'text', tokenizer: 'base' });
    expect(decodeCheckpoint(hf.files.weights, hf.files.manifest).manifest.tokenizer).toBe(TOKENIZER);
    const bare = hfCheckpoint(folder(false), 'bare');
    expect(bare.tokenizer).toBeNull();
    expect(bare.tokenizerNote).toBe('the folder has no tokenizer.json: text in characters');
    expect(bare.spec.task).toMatchObject({ tokenizer: 'chars' });
    expect(JSON.parse(bare.files.manifest).tokenizer).toBeUndefined();
    const other = hfCheckpoint(
      { ...folder(false), 'tokenizer.json': '{"model":{"type":"WordPiece"}}' },
      'wp',
    );
    expect(other.tokenizer).toBeNull();
    // A tokenizer.json that cannot be read is named, and the import goes on in characters.
    expect(other.tokenizerNote).toBe('tokenizer.json: its vocabulary is empty: text in characters');
  });

  it('runs from it speak its tokens (text, NIAH, Generate) and their checkpoints carry it, stored once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'base-tokenizer-'));
    dirs.push(dir);
    const store = new FileCheckpointStore(dir);
    const { engine, errors } = engineOn(store);
    const hf = hfCheckpoint(folder(), 'tiny-qwen');
    const base = await engine.importCheckpoint(hf.files);

    const text = runFrom(
      base.key,
      'text-tokens',
      { kind: 'text', seqLen: 32, source: 'moby-dick', tokenizer: 'base' },
      hf.spec.model,
    );
    const niah = runFrom(
      base.key,
      'niah-tokens',
      { kind: 'niah', seqLen: 64, keyLength: 1, filler: 'corpus', corpus: 'moby-dick', tokenizer: 'base' },
      hf.spec.model,
    );
    await engine.start(text);
    await engine.start(niah);
    await engine.idle();
    expect(errors).toEqual([]);

    // Generate encodes the prompt with the tokenizer (byte-level: any character) and answers in its tokens.
    const g = await engine.generate({
      runId: 'text-tokens',
      prompt: 'Call me Ishmael — naïve ✓',
      length: 4,
      temperature: 0,
      seed: 1,
    });
    expect(g.tokens).toHaveLength(4);
    for (const t of g.tokens) expect(t.text).toBe(tokenizer.tokenText(t.id));
    expect(g.text).toBe(g.tokens.map((t) => t.text).join(''));

    const names = await readdir(dir);
    const stored = names.filter((n) => n.startsWith('tokenizer-'));
    expect(stored).toHaveLength(1);
    expect(await readFile(join(dir, stored[0]), 'utf8')).toBe(TOKENIZER);
    const list = await store.list();
    expect(list.map((c) => c.runId).sort()).toEqual([hf.spec.id, 'niah-tokens', 'text-tokens'].sort());
    for (const c of list) {
      const raw = JSON.parse(await readFile(join(dir, `${c.key}.json`), 'utf8'));
      expect(raw.tokenizer).toBeUndefined();
      expect(raw.tokenizerRef).toMatchObject({ name: 'tokenizer.json', length: TOKENIZER.length });
      const whole = await engine.exportCheckpoint(c.key);
      expect(decodeCheckpoint(whole.weights, whole.manifest).manifest.tokenizer).toBe(TOKENIZER);
    }
    // Export to Hugging Face gives the base model's tokenizer.json back.
    const textKey = list.find((c) => c.runId === 'text-tokens')!.key;
    const zip = await hfFolderZip(await engine.exportCheckpoint(textKey), 'text-hf', async (name) =>
      loadCorpusNode(name),
    );
    const unzipped = readStoredZip(zip.bytes);
    expect(new TextDecoder().decode(unzipped['text-hf/tokenizer.json'])).toBe(TOKENIZER);
    expect(zip.files).not.toContain('vocab.json');
    // A run resumed from its own checkpoint keeps the tokens.
    const own = list.find((c) => c.runId === 'niah-tokens')!;
    const spec = await engine.loadCheckpoint(own.key);
    expect(spec.task).toMatchObject({ kind: 'niah', tokenizer: 'base' });
    expect(errors).toEqual([]);

    // A tampered or missing tokenizer file is named, not used.
    await writeFile(join(dir, stored[0]), `${TOKENIZER} `);
    await expect(store.get(base.key)).rejects.toThrow(
      /is not the base model's tokenizer this checkpoint speaks/,
    );
    await rm(join(dir, stored[0]));
    await expect(store.get(base.key)).rejects.toThrow(
      /tokenizer \(tokenizer-[0-9a-f]{16}\.json\) .* is missing/,
    );
    // A stored manifest uploaded alone is refused: the tokenizer is not in it.
    const storedManifest = await readFile(join(dir, `${base.key}.json`), 'utf8');
    await expect(
      engine.importCheckpoint({ weights: hf.files.weights, manifest: storedManifest }),
    ).rejects.toThrow(/refers to a stored tokenizer instead of holding it/);
  });

  it('the memory store keeps one copy too, and a bad tokenizer field is refused by name', async () => {
    const store = new MemoryCheckpointStore();
    const { engine } = engineOn(store);
    const hf = hfCheckpoint(folder(), 'tiny-qwen');
    const a = await engine.importCheckpoint(hf.files);
    expect(
      decodeCheckpoint((await store.get(a.key)).weights, (await store.get(a.key)).manifest).manifest
        .tokenizer,
    ).toBe(TOKENIZER);
    const bad = JSON.stringify({ ...JSON.parse(hf.files.manifest), tokenizer: 5 });
    await expect(engine.importCheckpoint({ weights: hf.files.weights, manifest: bad })).rejects.toThrow(
      /tokenizer must be the text of a tokenizer\.json/,
    );
  });
});
