// Manifests are checked field by field before anything is stored, and a bad entry already
// in a store is listed as unreadable instead of making the whole list fail.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../src/gpu/checkpoint/checkpoint.ts';
import { parseManifest, validateManifestConfig } from '../../../src/gpu/checkpoint/manifest.ts';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import { FileCheckpointStore } from '../../../src/gpu/checkpoint/store-node.ts';
import { cpuEngine } from '../../harness/engine.ts';
import { tinyFiles, tinySpec } from './fixtures/tiny.ts';

type Json = Record<string, unknown>;

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function good(): Json {
  return JSON.parse(tinyFiles(3).manifest);
}

/** A good manifest with one field changed by `edit`. */
function edited(edit: (m: Json & { spec: Json & { model: Json; train: Json; task: Json } }) => void): string {
  const m = good() as Json & { spec: Json & { model: Json; train: Json; task: Json } };
  edit(m);
  return JSON.stringify(m);
}

function refusal(text: string): string {
  try {
    parseManifest(text, 'm.json');
  } catch (err) {
    expect(err).toBeInstanceOf(CheckpointError);
    return (err as Error).message;
  }
  throw new Error('the manifest was accepted');
}

describe('manifest validation', () => {
  it('accepts a manifest it wrote', () => {
    expect(parseManifest(tinyFiles(3).manifest).step).toBe(3);
  });

  it('names every wrong top-level and spec field', () => {
    const cases: Array<
      [(m: Json & { spec: Json & { model: Json; train: Json; task: Json } }) => void, RegExp]
    > = [
      [(m) => (m.spec.name = 42), /spec\.name must be a string/],
      [(m) => (m.spec.id = ''), /spec\.id must not be empty/],
      [(m) => (m.spec.id = { x: 1 }), /spec\.id/],
      [(m) => (m.savedAt = 'yesterday'), /savedAt must be an ISO date/],
      [(m) => (m.savedAt = 7), /savedAt/],
      [(m) => (m.step = '3'), /step must be a whole number/],
      [(m) => (m.step = -1), /step must be a whole number/],
      [(m) => (m.metrics = { steps: 'many', evals: [] }), /metrics\.steps must be an array/],
      [(m) => (m.metrics = { steps: [{ step: 1, loss: 'low' }], evals: [] }), /metrics\.steps\[0\]/],
      [(m) => (m.metrics = { steps: [], evals: [null] }), /metrics\.evals\[0\]/],
      [(m) => (m.spec.backend = 'tpu'), /spec\.backend must be one of webgpu, cpu/],
      [(m) => (m.spec.task.kind = 'poetry'), /task\.kind must be one of/],
      [(m) => (m.spec.model.variant = 'dense'), /variant must be one of/],
      [(m) => (m.spec.model.rosa = null), /model\.rosa must be an object/],
      [(m) => (m.spec.model.globalLayers = 'all'), /model\.globalLayers must be a list of whole numbers/],
      [(m) => (m.spec.train.protocol = 'some'), /train\.protocol/],
      [(m) => (m.spec.train = null as unknown as Json), /train must be an object/],
      [(m) => (m.spec.task.filler = 'sand'), /task\.filler must be one of letters, random/],
      [(m) => (m.spec.task.loss = 'some'), /task\.loss must be one of answer, all/],
      [(m) => ((m.spec.model.rosa as Json).qk = 'loose'), /model\.rosa\.qk must be one of/],
      [
        (m) => ((m.spec.model.rosa as Json).vProbContrast = 'yes'),
        /model\.rosa\.vProbContrast must be true or false/,
      ],
      [(m) => (m.spec.model.lrsa = 3), /model\.lrsa must be an object/],
      [(m) => (m.spec.train.lengthWarmup = -2), /train\.lengthWarmup/],
    ];
    for (const [edit, message] of cases) expect(refusal(edited(edit))).toMatch(message);
    expect(refusal('[]')).toMatch(/not a ROSA Playground checkpoint manifest/);
    expect(refusal('null')).toMatch(/not a ROSA Playground checkpoint manifest/);
  });

  it('checks the configuration through one function', () => {
    const spec = tinySpec();
    expect(validateManifestConfig(spec)).toEqual([]);
    expect(validateManifestConfig({ ...spec, model: 5 }).map((e) => e.field)).toEqual(['spec.model']);
    expect(
      validateManifestConfig({ ...spec, model: { ...spec.model, heads: 3 } }).map((e) => e.field),
    ).toContain('spec.model.heads');
  });

  it('refuses a bad upload before anything is stored', async () => {
    const store = new MemoryCheckpointStore();
    const engine = cpuEngine(store);
    const files = tinyFiles(3);
    const bad = edited((m) => (m.spec.name = ['x']));
    await expect(engine.importCheckpoint({ weights: files.weights, manifest: bad })).rejects.toThrow(
      /spec\.name/,
    );
    await expect(store.put('k', { weights: files.weights, manifest: bad })).rejects.toThrow(CheckpointError);
    expect(await store.list()).toEqual([]);
    expect(await engine.listCheckpoints()).toEqual([]);
  });

  it('lists the good entries of a store and reports a bad one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-list-'));
    dirs.push(dir);
    const store = new FileCheckpointStore(dir);
    await store.put('good-a', tinyFiles(3));
    await store.put('good-b', tinyFiles(4));
    // Poisoned entries: a manifest with a wrong field, one that is not JSON, one without weights.
    await writeFile(
      join(dir, 'bad.json'),
      edited((m) => (m.spec.model.rosa = null)),
    );
    await writeFile(join(dir, 'bad.safetensors'), tinyFiles(3).weights);
    await writeFile(join(dir, 'torn.json'), '{"format": "rosa-playground-checkpoint", "vers');
    await writeFile(join(dir, 'orphan.json'), tinyFiles(5).manifest);
    // Not a checkpoint at all: left out of the list.
    await writeFile(join(dir, 'results.json'), '{"variants": []}');
    const list = await store.list();
    const good = list.filter((c) => c.problem === undefined).map((c) => [c.key, c.step]);
    expect(good).toEqual([
      ['good-a', 3],
      ['good-b', 4],
    ]);
    const bad = Object.fromEntries(
      list.filter((c) => c.problem !== undefined).map((c) => [c.key, c.problem]),
    );
    expect(Object.keys(bad).sort()).toEqual(['bad', 'orphan', 'torn']);
    expect(bad.bad).toMatch(/bad\.json: invalid manifest/);
    expect(bad.torn).toMatch(/not valid JSON/);
    expect(bad.orphan).toMatch(/orphan\.safetensors is missing/);
    await store.delete('bad');
    expect((await store.list()).some((c) => c.key === 'bad')).toBe(false);
  });
});
