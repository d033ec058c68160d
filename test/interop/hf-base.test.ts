// `--base hf:<dir>`: a preset's protocol on an imported Hugging Face model. The unit part checks
// how runs and tasks adapt to the base; the command-line part runs rosa-tuning-text-small on the
// committed Qwen3 fixture (grouped-query attention, q/k norm) for a few steps on the CPU backend.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHfFolder } from '../../cli/model-files.ts';
import { decodeCheckpoint } from '../../src/gpu/checkpoint/checkpoint.ts';
import { FileCheckpointStore } from '../../src/gpu/checkpoint/store-node.ts';
import { inlineScanner } from '../../src/gpu/model/scanners.ts';
import { createRun } from '../../src/gpu/train/factory.ts';
import { parsePreset, presetRuns } from '../../src/gpu/train/preset.ts';
import { buildTask } from '../../src/gpu/train/tasks.ts';
import { hfBaseSettings, runsOnHfBase } from '../../src/interop/hf-base.ts';
import { hfCheckpoint } from '../../src/interop/hf-checkpoint.ts';
import { exportHuggingFace } from '../../src/interop/hf-export.ts';
import { importHuggingFace } from '../../src/interop/hf-import.ts';
import { parseTokenizer } from '../../src/interop/tokenizer.ts';
import { onBaseVocabulary } from '../../src/tasks/base-vocab.ts';
import { loadCorpusNode } from '../../src/tasks/corpus-node.ts';
import { NiahTask } from '../../src/tasks/niah.ts';
import { TextTask } from '../../src/tasks/text.ts';
import { fixtureConfig, seededParameters } from './seeded-model.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const QWEN3 = join(ROOT, 'test', 'fixtures', 'hf', 'transformers-qwen3');
const dir = mkdtempSync(join(tmpdir(), 'hf-base-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function experiment(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(
    TSX,
    [join(ROOT, 'cli', 'experiment.ts'), '--backend', 'cpu', '--workers', '0', ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  return { status: r.status, stderr: r.stderr };
}

const QWEN2_TOKENIZER = join(ROOT, 'test', 'fixtures', 'tokenizer', 'qwen2', 'tokenizer.json');
const tokenizer = parseTokenizer(readFileSync(QWEN2_TOKENIZER, 'utf8'));
const env = {
  gpu: null,
  scanner: inlineScanner(),
  loadCorpus: async () => loadCorpusNode('moby-dick'),
  store: null,
};

const preset = parsePreset(
  JSON.parse(readFileSync(join(ROOT, 'presets', 'rosa-tuning-text-small.json'), 'utf8')),
);

describe('a preset on an imported base', () => {
  it('takes the base shape and evaluates the base instead of training from scratch', async () => {
    const imported = importHuggingFace(await readHfFolder(QWEN3));
    const runs = runsOnHfBase(
      presetRuns(preset, 'cpu', { model: hfBaseSettings(imported.config) }),
      'hf:/models/qwen3',
    );
    const global = runs.find((r) => r.spec.name === 'global')!;
    expect(global).toMatchObject({ evalOnly: true, from: { checkpoint: 'hf:/models/qwen3' } });
    for (const run of runs) {
      expect(run.spec.model).toMatchObject({ width: 16, layers: 2, heads: 4, kvHeads: 1, qkNorm: true });
      expect(run.spec.model.ropeBase).toBe(500);
    }
    // Variants that start from another keep doing so; trained ones stay trained.
    expect(runs.find((r) => r.spec.name === 'global→window')!.from).toEqual({ variant: 'global' });
    expect(runs.find((r) => r.spec.name === 'global→lrsa, tuned')!.evalOnly).toBe(false);
  });

  it('keeps the base vocabulary: the text task fits in it and the model starts from its weights', async () => {
    const imported = importHuggingFace(await readHfFolder(QWEN3));
    const runs = runsOnHfBase(
      presetRuns(preset, 'cpu', { model: hfBaseSettings(imported.config) }),
      'hf:qwen3',
    );
    const spec = runs[0].spec;
    const run = await createRun(
      spec,
      { gpu: null, scanner: inlineScanner(), loadCorpus: async (n) => loadCorpusNode(n), store: null },
      () => {},
      { transplant: imported.parameters, vocabulary: { size: 40 } },
    );
    // Moby Dick has more than 40 characters: the rarest share the unknown token.
    expect(run.task.vocab.size).toBe(40);
    expect(run.task).toBeInstanceOf(TextTask);
    const batch = run.task.batch('train', 0, 2);
    expect(Math.max(...batch.tokens)).toBeLessThan(40);
    const weights = await run.model.exportParameters();
    for (const [name, data] of imported.parameters) expect(weights.get(name), name).toEqual(data);
    run.model.dispose();
  });

  it('a base checkpoint from the page resumes, and a run starts from it, in its vocabulary', async () => {
    const folder = await readHfFolder(QWEN3);
    const contents = (() => {
      const c = hfCheckpoint(folder, 'tiny-qwen3', '2026-01-01T00:00:00.000Z');
      return decodeCheckpoint(c.files.weights, c.files.manifest);
    })();
    // The page's engine has WebGPU; here the same spec runs on the CPU backend.
    const own = { ...contents.manifest.spec, backend: 'cpu' as const };
    const resumed = await createRun(own, env, () => {}, { resume: contents });
    expect(resumed.task.vocab.size).toBe(40);
    resumed.model.dispose();
    // What the engine does for a run `from` a stored checkpoint: the weights only.
    const spec = { ...own, model: { ...own.model, variant: 'window' as const } };
    const started = await createRun(spec, env, () => {}, { transplant: contents.parameters });
    expect(started.task.vocab.size).toBe(40);
    const weights = await started.model.exportParameters();
    for (const [name, data] of contents.parameters) expect(weights.get(name), name).toEqual(data);
    started.model.dispose();
  });

  it('pads a smaller task vocabulary and refuses a larger one', async () => {
    const task = await buildTask(
      { kind: 'induction', seqLen: 16, vocabSize: 8, segment: 4 },
      1,
      async () => '',
    );
    const padded = onBaseVocabulary(task, { size: 12, decode: (id) => `t${id}` });
    expect(padded.vocab.size).toBe(12);
    expect(padded.vocab.decode(3)).toBe(task.vocab.decode(3));
    expect(padded.vocab.decode(10)).toBe('t10');
    expect(padded.batch('train', 3, 2).tokens).toEqual(task.batch('train', 3, 2).tokens);
    expect(() => onBaseVocabulary(task, { size: 6 })).toThrow(
      "vocabSize: the task needs 8 token ids but the base model's vocabulary has 6",
    );
  });
});

describe("a text task in the base model's tokens", () => {
  const config = fixtureConfig({ vocabSize: tokenizer.size, seqLen: 64 });
  const spec = presetRuns(preset, 'cpu', {
    model: hfBaseSettings(config),
    task: { tokenizer: 'base' },
  })[0].spec;

  it('cuts its sequences out of the tokenized text', async () => {
    const run = await createRun(spec, env, () => {}, {
      transplant: seededParameters(config, 2),
      vocabulary: { size: tokenizer.size, tokenizer },
    });
    expect(run.task.vocab.size).toBe(400);
    const all = tokenizer.encode(await loadCorpusNode('moby-dick')).join(',');
    const batch = run.task.batch('train', 0, 2);
    // Each sequence (before its repeated passage) is a stretch of the tokenized corpus.
    for (let b = 0; b < 2; b++) {
      const head = Array.from(batch.tokens.subarray(b * 64, b * 64 + 48));
      expect(all).toContain(head.join(','));
      expect(batch.tokens.subarray(b * 64 + 48, b * 64 + 64)).toEqual(
        batch.tokens.subarray(b * 64, b * 64 + 16),
      );
    }
    expect(run.task.vocab.decode(tokenizer.encode(' whale')[0])).toBe(
      tokenizer.tokenText(tokenizer.encode(' whale')[0]),
    );
    run.model.dispose();
  });

  it('needs a base with a tokenizer that fits its vocabulary', async () => {
    const task = { ...spec.task, tokenizer: 'base' as const };
    await expect(buildTask(task, 1, env.loadCorpus)).rejects.toThrow("tokenizer: 'base' needs a base model");
    await expect(buildTask(task, 1, env.loadCorpus, { size: 40 })).rejects.toThrow(
      "tokenizer: 'base' needs a base model",
    );
    await expect(buildTask(task, 1, env.loadCorpus, { size: 40, tokenizer })).rejects.toThrow(
      "the task needs 400 token ids but the base model's vocabulary has 40",
    );
  });
});

describe("NIAH in the base model's tokens", () => {
  const niahPreset = parsePreset(
    JSON.parse(readFileSync(join(ROOT, 'presets', 'rosa-tuning-niah-small.json'), 'utf8')),
  );
  // A playground fixture model (as exported to test/fixtures/hf/) at the tokenizer's 400 ids.
  const config = fixtureConfig({ vocabSize: tokenizer.size, seqLen: 96 });
  const spec = presetRuns(niahPreset, 'cpu', {
    model: hfBaseSettings(config),
    task: { tokenizer: 'base', filler: 'corpus', seqLen: 96, keyLength: 2 },
    train: { seed: 4 },
  })[0].spec;

  it('evaluates the answer digit tokens, and answers a haystack typed as text', async () => {
    const run = await createRun(spec, env, () => {}, {
      transplant: seededParameters(config, 5),
      vocabulary: { size: tokenizer.size, tokenizer },
    });
    expect(run.spec.model.vocabSize).toBe(400);
    const task = run.task as NiahTask;
    expect(task).toBeInstanceOf(NiahTask);
    const digits = Array.from({ length: 10 }, (_, d) => tokenizer.encode(String(d))[0]);
    const sample = task.sample('validation', 0);
    const answer = [...sample.answerTargets].filter((x) => x >= 0);
    expect(answer).toEqual(sample.key);
    for (const id of answer) expect(digits).toContain(id);
    const metrics = await run.evaluate();
    expect(metrics.niahAtDistance!.distance).toBeGreaterThan(0);
    expect(metrics.niahAtDistance!.accuracy).toBeGreaterThanOrEqual(0);
    const reply = await run.niahQuery({
      runId: run.spec.id,
      haystack: 'Call me Ishmael. '.repeat(3),
      key: '42',
      depth: 0.5,
    });
    // The prompt is the haystack in the base tokens with the sentences, then two answer tokens.
    const prompt = reply.tokens.slice(0, -2).join('');
    expect(prompt).toContain(' The pass key is 42.');
    expect(prompt.endsWith(' What is the pass key? The pass key is ')).toBe(true);
    expect(reply.correct).toBe(reply.answer === '42');
    expect(reply.tokens.slice(reply.keyPos, reply.keyPos! + 3)).toEqual(['4', '2', '.']);
    run.model.dispose();
  });
});

describe('npm run experiment -- --base hf:<dir>', () => {
  it('runs the protocol from the imported weights', () => {
    const out = join(dir, 'run');
    const r = experiment([
      '--preset',
      'rosa-tuning-text-small',
      '--base',
      `hf:${QWEN3}`,
      '--variants',
      'global→window,global→window+rosa, settings that learn',
      '--steps',
      '2',
      '--train.evalBatches',
      '1',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('base: read model.safetensors');
    expect(r.stderr).toContain('base: Qwen3ForCausalLM: 2 layers, width 16, 4 heads, 1 key/value heads');
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.base.architecture).toBe('Qwen3ForCausalLM');
    type Row = { name: string; status: string; parameters: number; final: { lossByPosition: number[] } };
    const rows = results.results as Row[];
    expect(rows.map((x) => [x.name, x.status])).toEqual([
      ['global', 'evaluated'],
      ['global→window', 'evaluated'],
      ['global→window+rosa, settings that learn', 'finished'],
    ]);
    const count = [...importHuggingFace({ ...loadFolderSync(QWEN3) }).parameters.values()].reduce(
      (a, p) => a + p.length,
      0,
    );
    expect(rows[0].parameters).toBe(count);
    // The same weights: under a window of 8 the first 8 positions (buckets t = 0, 1, 2–3, 4–7)
    // see what global attention sees; later ones do not.
    const [global, window] = [rows[0].final.lossByPosition, rows[1].final.lossByPosition];
    expect(window.slice(0, 4)).toEqual(global.slice(0, 4));
    expect(window.slice(4)).not.toEqual(global.slice(4));
  });

  it("reads the folder's tokenizer.json for --task.tokenizer base", () => {
    const folder = join(dir, 'with-tokenizer');
    mkdirSync(folder);
    const config = fixtureConfig({ vocabSize: tokenizer.size, seqLen: 64 });
    for (const [name, contents] of Object.entries(
      exportHuggingFace({ config, parameters: seededParameters(config, 3) }),
    ))
      writeFileSync(join(folder, name), contents);
    cpSync(QWEN2_TOKENIZER, join(folder, 'tokenizer.json'));
    const out = join(dir, 'run-tokens');
    const r = experiment([
      '--preset',
      'rosa-tuning-text-small',
      '--base',
      `hf:${folder}`,
      '--task.tokenizer',
      'base',
      '--variants',
      'global→window',
      '--train.evalBatches',
      '1',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('base: tokenizer.json, byte-level BPE, 400 tokens');
    const rows = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).results;
    expect(rows.map((x: { status: string }) => x.status)).toEqual(['evaluated', 'evaluated']);
    expect(rows[0].spec.task.tokenizer).toBe('base');
  });

  it("runs NIAH in the base model's tokens, its checkpoints resume in them, and distances that do not fit are refused first", async () => {
    const folder = join(dir, 'niah-tokens');
    mkdirSync(folder);
    const config = fixtureConfig({ vocabSize: tokenizer.size, seqLen: 128 });
    for (const [name, contents] of Object.entries(
      exportHuggingFace({ config, parameters: seededParameters(config, 6) }),
    ))
      writeFileSync(join(folder, name), contents);
    cpSync(QWEN2_TOKENIZER, join(folder, 'tokenizer.json'));
    const args = (out: string, seqLen: string) => [
      '--preset',
      'rosa-tuning-niah-small',
      '--base',
      `hf:${folder}`,
      '--task.tokenizer',
      'base',
      '--task.filler',
      'corpus',
      '--task.seqLen',
      seqLen,
      '--variants',
      'global→window+rosa, settings that learn',
      '--steps',
      '2',
      '--train.evalBatches',
      '1',
      '--train.checkpointEvery',
      '2',
      '--out',
      join(dir, out),
    ];
    // The preset's T = 48 holds the sentences but not its needle 32 tokens back.
    const short = experiment(args('niah-short', '48'));
    expect(short.status).toBe(2);
    expect(short.stderr).toContain(
      // The source run (global, evaluated on the base) comes first.
      'global: evaluation.niahDistances: 32 does not fit: distance: must be between 13 and 21 for T = 48',
    );
    const r = experiment(args('niah-tokens-run', '96'));
    expect(r.status, r.stderr).toBe(0);
    const [row] = JSON.parse(readFileSync(join(dir, 'niah-tokens-run', 'results.json'), 'utf8')).results;
    expect(row.spec.task).toMatchObject({ kind: 'niah', tokenizer: 'base', filler: 'corpus' });
    expect(Object.keys(row.niahByDistance)).toEqual(['32']);
    // The checkpoint carries the tokenizer (stored once beside it), so the run resumes in its tokens.
    const store = new FileCheckpointStore(join(dir, 'niah-tokens-run', 'checkpoints'));
    const [saved] = await store.list();
    const files = await store.get(saved.key);
    const contents = decodeCheckpoint(files.weights, files.manifest);
    expect(contents.manifest.tokenizer).toBe(readFileSync(QWEN2_TOKENIZER, 'utf8'));
    const resumed = await createRun(contents.manifest.spec, env, () => {}, { resume: contents });
    expect((resumed.task as NiahTask).spelling.tokenized).toBe(true);
    resumed.model.dispose();
    // `npm run export` of the stored checkpoint writes the base model's tokenizer.json back.
    const hf = join(dir, 'niah-tokens-hf');
    const exported = spawnSync(
      TSX,
      [
        join(ROOT, 'cli', 'export.ts'),
        '--checkpoint',
        join(dir, 'niah-tokens-run', 'checkpoints', `${saved.key}.json`),
        '--out',
        hf,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(exported.status, exported.stderr).toBe(0);
    expect(readFileSync(join(hf, 'tokenizer.json'), 'utf8')).toBe(readFileSync(QWEN2_TOKENIZER, 'utf8'));
  });

  it('says what is unsupported, with exit code 2', () => {
    const bad = join(dir, 'gpt2');
    cpSync(QWEN3, bad, { recursive: true });
    writeFileSync(
      join(bad, 'config.json'),
      JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] }),
    );
    const r = experiment(['--preset', 'rosa-tuning-text-small', '--base', `hf:${bad}`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('model_type "gpt2" (GPT2LMHeadModel) is not supported');
    const prefix = experiment(['--preset', 'rosa-tuning-text-small', '--base', QWEN3]);
    expect(prefix.status).toBe(2);
    expect(prefix.stderr).toContain('--base must be hf:<folder of a Hugging Face model>');
  });
});

function loadFolderSync(folder: string): Record<string, string | Uint8Array> {
  return {
    'config.json': readFileSync(join(folder, 'config.json'), 'utf8'),
    'model.safetensors': new Uint8Array(readFileSync(join(folder, 'model.safetensors'))),
  };
}
