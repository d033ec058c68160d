// `npm run experiment -- --preset <name or path> [--backend webgpu|cpu] [--out <dir>] [--variants a,b]
//   [--workers N] [--base hf:<dir>] [--<setting path> value …]`
// Runs every variant of a preset on the same data and seed, in order: a variant with `from`
// starts from an earlier variant's trained weights (or a checkpoint), one with `evalOnly` is
// only evaluated. With `train.repeats` N each variant runs N times, with seeds seed, seed + 1, …
// (seed i of a variant starts from seed i of the one it names). With --base hf:<dir> every
// variant takes the shape of an imported Hugging Face model and the variants that would train
// from scratch evaluate it instead. Prints progress and writes results.json (configuration,
// machine, the base, per run its settings, seed, final metrics and NIAH figures; per variant the
// mean, min and max of every figure over its seeds) and metrics.csv. Exits non-zero when
// anything failed.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { formatDuration } from '../src/common/format.ts';
import { evalCsvRow, METRICS_CSV_COLUMNS, trainCsvRow } from '../src/common/metrics-csv.ts';
import { type Spread, seedsOf, spreadByPath } from '../src/common/seeds.ts';
import type { BackendKind } from '../src/config/schema.ts';
import { ConfigError, type FieldError } from '../src/config/validate.ts';
import { decodeCheckpoint } from '../src/gpu/checkpoint/checkpoint.ts';
import { FileCheckpointStore } from '../src/gpu/checkpoint/store-node.ts';
import type { GpuContext } from '../src/gpu/context.ts';
import { optionalFeatureStatus } from '../src/gpu/features.ts';
import type { RosaScanner } from '../src/gpu/model/backend.ts';
import { CpuBackend } from '../src/gpu/model/cpu-backend.ts';
import { inlineScanner } from '../src/gpu/model/scanners.ts';
import { createNodeGpuContext } from '../src/gpu/platform/node.ts';
import { trainRecoveringDevice } from '../src/gpu/train/device-recovery.ts';
import { createRun, type EngineEnv } from '../src/gpu/train/factory.ts';
import { type ExperimentPreset, type PresetRun, parsePreset, presetRuns } from '../src/gpu/train/preset.ts';
import type { StepMetrics, TrainerEvent } from '../src/gpu/train/protocol.ts';
import { rosaNeedleHits } from '../src/gpu/train/retrieval-diagnostic.ts';
import { NIAH_EVAL_SAMPLES } from '../src/gpu/train/run.ts';
import { describeBase, HF_BASE_PREFIX, hfBaseSettings, runsOnHfBase } from '../src/interop/hf-base.ts';
import { type HfImport, importHuggingFace } from '../src/interop/hf-import.ts';
import { type HfTokenizer, parseTokenizer, TokenizerError } from '../src/interop/tokenizer.ts';
import type { BaseVocabulary } from '../src/tasks/base-vocab.ts';
import { loadCorpusNode } from '../src/tasks/corpus-node.ts';
import { NiahTask } from '../src/tasks/niah.ts';
import { TaskConfigError } from '../src/tasks/types.ts';
import { parseArgs, settingsPatch, UsageError } from './args.ts';
import { readHfFolder } from './model-files.ts';
import { createNodeScanner } from './node-scanner.ts';

const OPTIONS = ['preset', 'out', 'variants', 'workers', 'backend', 'base'] as const;

class CliError extends Error {}

function fail(message: string): never {
  throw new CliError(message);
}

/** A FieldError as the command line shows it: flags as given, preset paths as `preset.…`. */
function shownField(e: FieldError, flags: Set<string>): string {
  const path = e.field.replace(/^preset\.(variants\[\d+\]\.)?/, '');
  return flags.has(path) ? `--${path}` : e.field;
}

/** `--variants a,b`: names split at commas, except where commas belong to a name (the longest one). */
function variantList(value: string | undefined, names: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  const pieces = value.split(',');
  const out: string[] = [];
  for (let i = 0; i < pieces.length; ) {
    let j = pieces.length;
    while (j > i + 1 && !names.includes(pieces.slice(i, j).join(',').trim())) j--;
    out.push(pieces.slice(i, j).join(',').trim());
    i = j;
  }
  return out;
}

async function readPreset(nameOrPath: string): Promise<{ preset: ExperimentPreset; path: string }> {
  const path =
    nameOrPath.endsWith('.json') || nameOrPath.includes('/')
      ? resolve(nameOrPath)
      : resolve('presets', `${nameOrPath}.json`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    fail(`cannot read preset ${path}: ${(err as Error).message}`);
  }
  return { preset: parsePreset(json), path };
}

/** Base weights of a checkpoint path (KEY.json beside KEY.safetensors, either named). */
async function checkpointWeights(path: string): Promise<Map<string, Float32Array>> {
  const base = resolve(path).replace(/\.(json|safetensors)$/, '');
  try {
    const manifest = await readFile(`${base}.json`, 'utf8');
    const weights = new Uint8Array(await readFile(`${base}.safetensors`));
    return decodeCheckpoint(weights, manifest).parameters;
  } catch (err) {
    fail(`cannot use checkpoint ${base}: ${(err as Error).message}`);
  }
}

/** `--base hf:<dir>`: the imported model, with progress on stderr; errors say what is unsupported. */
async function loadHfBase(option: string): Promise<{
  source: string;
  dir: string;
  imported: HfImport;
  tokenizer: HfTokenizer | null;
  /** The tokenizer.json text, which the runs' checkpoints carry (a resume needs it). */
  tokenizerText: string | null;
}> {
  if (!option.startsWith(HF_BASE_PREFIX))
    fail(`--base must be hf:<folder of a Hugging Face model> (got "${option}")`);
  const dir = resolve(option.slice(HF_BASE_PREFIX.length));
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 3 : 1)} MB`;
  let files: Awaited<ReturnType<typeof readHfFolder>>;
  try {
    files = await readHfFolder(dir, (name, bytes, done, total) =>
      process.stderr.write(
        `base: read ${name} (${mb(bytes)}), ${mb(done)} of ${mb(total)} (${Math.round((100 * done) / Math.max(1, total))}%)\n`,
      ),
    );
  } catch (err) {
    fail(`--base: cannot read the folder ${dir}: ${(err as Error).message}`);
  }
  process.stderr.write('base: converting the weights to f32\n');
  try {
    const imported = importHuggingFace(files);
    const count = [...imported.parameters.values()].reduce((a, p) => a + p.length, 0);
    process.stderr.write(`base: ${describeBase(imported.architecture, imported.config, count)}\n`);
    const tokens = baseTokenizer(files);
    return {
      source: `${HF_BASE_PREFIX}${dir}`,
      dir,
      imported,
      tokenizer: tokens?.tokenizer ?? null,
      tokenizerText: tokens?.text ?? null,
    };
  } catch (err) {
    if ((err as Error).name === 'HfImportError')
      fail(`--base ${dir}: cannot import (${(err as Error).message})`);
    throw err;
  }
}

/** The folder's tokenizer.json when it is one the playground reads; why not otherwise. */
function baseTokenizer(
  files: Record<string, string | Uint8Array>,
): { tokenizer: HfTokenizer; text: string } | null {
  const source = files['tokenizer.json'];
  if (source === undefined) return null;
  try {
    const text = typeof source === 'string' ? source : new TextDecoder().decode(source);
    const tokenizer = parseTokenizer(text);
    process.stderr.write(`base: tokenizer.json, byte-level BPE, ${tokenizer.size} tokens\n`);
    return { tokenizer, text };
  } catch (err) {
    if (!(err instanceof TokenizerError)) throw err;
    process.stderr.write(`base: ${err.message}; text tasks can only use characters (task.tokenizer chars)\n`);
    return null;
  }
}

/** The settings that make one row of the results table what it is. */
function rowSettings(run: PresetRun): Record<string, unknown> {
  const { model, train } = run.spec;
  const out: Record<string, unknown> = {
    variant: model.variant,
    from: run.from ? ('variant' in run.from ? run.from.variant : run.from.checkpoint) : null,
    evalOnly: run.evalOnly,
    window: model.window,
    globalLayers: model.globalLayers,
  };
  if (!run.evalOnly) Object.assign(out, { protocol: train.protocol, steps: train.steps, lr: train.lr });
  if (model.variant.endsWith('+rosa')) {
    out.rosa = model.rosa;
    if (!run.evalOnly)
      Object.assign(out, { rosaLr: train.rosaLr, baseLr: train.baseLr, stageASteps: train.stageASteps });
  }
  if (model.variant.startsWith('lrsa')) out.lrsa = model.lrsa;
  return out;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), OPTIONS);
  const flags = new Set([...args.settings.keys()]);
  if (args.errors.length > 0) fail(args.errors.map((e) => `${e.field} ${e.message}`).join('\n'));
  const presetName =
    args.options.get('preset') ?? fail('--preset <name or path> is required (see presets/*.json)');
  const { preset } = await readPreset(presetName);
  const backend = (args.options.get('backend') ?? 'webgpu') as BackendKind;
  if (backend !== 'webgpu' && backend !== 'cpu') fail(`--backend must be webgpu or cpu (got "${backend}")`);
  const workersRaw = args.options.get('workers');
  const workers = workersRaw === undefined ? undefined : Number(workersRaw);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0 || workers > 64)) {
    fail(`--workers must be a whole number from 0 to 64 (got "${workersRaw}")`);
  }
  const patch = settingsPatch(args.settings);
  const baseOption = args.options.get('base');
  const base = baseOption === undefined ? null : await loadHfBase(baseOption);
  // The imported model fixes the base shapes of every variant, whatever the preset says.
  if (base) patch.model = { ...patch.model, ...hfBaseSettings(base.imported.config) };

  let runs: PresetRun[];
  try {
    runs = presetRuns(preset, backend, patch);
  } catch (err) {
    if (err instanceof ConfigError)
      fail(err.fields.map((e) => `${shownField(e, flags)} ${e.message}`).join('\n'));
    throw err;
  }
  if (base) runs = runsOnHfBase(runs, base.source);
  const tokens = base?.imported.tokens;
  const tokenizer = base?.tokenizer;
  const tokenizerText = base?.tokenizerText ?? null;
  const vocabulary: BaseVocabulary | undefined = base
    ? {
        size: base.imported.config.vocabSize,
        ...(tokenizer
          ? { tokenizer, decode: (id: number) => tokenizer.tokenText(id) }
          : tokens
            ? { decode: (id: number) => tokens[id] ?? '' }
            : {}),
      }
    : undefined;
  const only = variantList(
    args.options.get('variants'),
    runs.map((r) => r.spec.name),
  );
  if (only) {
    const unknown = only.filter((n) => !runs.some((r) => r.spec.name === n));
    if (unknown.length > 0) {
      fail(
        `--variants names ${unknown.map((u) => `"${u}"`).join(', ')}; this preset has ${runs.map((r) => `"${r.spec.name}"`).join(', ')}`,
      );
    }
    // A variant needs the one it starts from.
    const needed = new Set(only);
    for (const run of [...runs].reverse()) {
      if (needed.has(run.spec.name) && run.from && 'variant' in run.from) needed.add(run.from.variant);
    }
    runs = runs.filter((r) => needed.has(r.spec.name));
  }

  const out = resolve(
    args.options.get('out') ??
      join('runs', `${preset.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`),
  );
  let gpu: GpuContext | null = null;
  if (backend === 'webgpu') gpu = await createNodeGpuContext();
  const scanner: RosaScanner = workers === 0 ? inlineScanner() : await createNodeScanner(workers);
  const store = new FileCheckpointStore(join(out, 'checkpoints'));
  await mkdir(out, { recursive: true });
  const csv: string[] = [METRICS_CSV_COLUMNS.join(',')];
  const results: Record<string, unknown>[] = [];
  const trained = new Map<string, Map<string, Float32Array>>();
  let failures = 0;
  process.stderr.write(
    `${preset.name}: ${preset.description}\n${runs.length} run(s) on ${backend}` +
      `${gpu ? ` (${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description})` : ''}, ` +
      `${scanner.workers} scan worker(s); output in ${out}\n` +
      (gpu
        ? `optional WebGPU features: ${optionalFeatureStatus(gpu.adapter)
            .map((f) => `${f.feature} ${f.present ? 'present' : 'not offered'}`)
            .join(', ')}\n`
        : ''),
  );

  // Seed i of every variant, one variant after another (a variant starts from its source's seed i).
  const seededRuns = runs.flatMap((presetRun) =>
    seedsOf(presetRun.spec.train.seed, presetRun.spec.train.repeats).map((seed, repeat) => ({
      presetRun,
      repeat,
      spec: seededSpec(presetRun.spec, seed),
    })),
  );
  try {
    for (const { presetRun, repeat, spec } of seededRuns) {
      // Progress lines name the seed when there are several.
      const tag = spec.train.repeats > 1 ? `${spec.name} seed ${spec.train.seed}` : spec.name;
      const head = { id: spec.id, name: spec.name, variant: spec.model.variant };
      const started = performance.now();
      const onEvent = (e: TrainerEvent) => {
        if (e.type === 'step') {
          csv.push(trainCsvRow(head, e.metrics));
          const m = e.metrics;
          if (m.step % 10 === 0 || m.step === spec.train.steps) {
            const elapsed = performance.now() - started;
            const eta = (elapsed / m.step) * (spec.train.steps - m.step);
            process.stderr.write(
              `[${tag}] step ${m.step}/${spec.train.steps} loss ${m.loss.toFixed(4)} acc ${m.accuracy.toFixed(3)} ` +
                `| ${Math.round(m.tokensPerSecond)} tok/s | ETA ${formatDuration(eta)}\n`,
            );
          }
        } else if (e.type === 'eval') {
          csv.push(evalCsvRow(head, e.metrics));
          const n = e.metrics.niahAtDistance;
          const far = e.metrics.longContextLoss;
          process.stderr.write(
            `[${tag}] eval @${e.metrics.step}: loss ${e.metrics.loss.toFixed(4)} acc ${e.metrics.accuracy.toFixed(3)}` +
              `${n ? ` NIAH@${n.distance} ${(100 * n.accuracy).toFixed(1)}%` : ''}` +
              `${far === undefined ? '' : ` long-context loss ${far.toFixed(3)} (perplexity ${Math.exp(far).toFixed(2)})`}\n`,
          );
        } else if (e.type === 'error') {
          process.stderr.write(`[${tag}] ERROR: ${e.message}\n`);
        }
      };
      const source = presetRun.from;
      const weights = !source
        ? undefined
        : 'variant' in source
          ? (trained.get(`${source.variant}#${sourceRepeat(runs, source.variant, repeat)}`) ??
            fail(
              `${spec.name} (seed ${spec.train.seed}): "${source.variant}" did not finish with that seed, so there is nothing to start from`,
            ))
          : base && source.checkpoint === base.source
            ? base.imported.parameters
            : await checkpointWeights(source.checkpoint);
      const env: EngineEnv = {
        gpu,
        scanner,
        loadCorpus: async (n) => loadCorpusNode(n),
        store: presetRun.evalOnly ? null : store,
        hostMemory: totalmem(),
      };
      const create = () =>
        createRun(
          spec,
          env,
          onEvent,
          weights
            ? { transplant: weights, vocabulary, ...(tokenizerText ? { tokenizer: tokenizerText } : {}) }
            : undefined,
        );
      let run: Awaited<ReturnType<typeof createRun>>;
      try {
        run = await create();
      } catch (err) {
        if (err instanceof ConfigError) fail(`${spec.name}: ${err.message}`);
        throw err;
      }
      if (source)
        process.stderr.write(
          `[${tag}] starts from ${'variant' in source ? `"${source.variant}"` : source.checkpoint}\n`,
        );
      // The evaluation distances must fit this task's layout (longer in a base model's tokens):
      // say so before training rather than after it.
      if (run.task instanceof NiahTask && preset.evaluation?.niahDistances) {
        for (const d of preset.evaluation.niahDistances) {
          try {
            run.task.atDistance(d, 0);
          } catch (err) {
            run.dispose();
            if (err instanceof TaskConfigError)
              fail(`${spec.name}: evaluation.niahDistances: ${d} does not fit: ${err.message}`);
            throw err;
          }
        }
      }
      const hitsBefore =
        run.task instanceof NiahTask ? await rosaNeedleHits(run, run.task, NIAH_EVAL_SAMPLES) : null;
      if (!presetRun.evalOnly) {
        // A lost GPU device: a new one, and the run continues from its latest checkpoint.
        ({ run } = await trainRecoveringDevice(run, {
          env,
          emit: onEvent,
          newGpu: () => createNodeGpuContext(),
          restart: create,
          log: (line) => process.stderr.write(`[${tag}] ${line}\n`),
        }));
        gpu = env.gpu;
      }
      const ok = presetRun.evalOnly || run.status === 'finished';
      if (!ok) failures++;
      const final = presetRun.evalOnly ? await run.evaluate() : (run.evals.at(-1) ?? (await run.evaluate()));
      const result: Record<string, unknown> = {
        name: spec.name,
        seed: spec.train.seed,
        settings: rowSettings(presetRun),
        status: presetRun.evalOnly ? 'evaluated' : run.status,
        steps: run.step,
        wallSeconds: (performance.now() - started) / 1000,
        parameters: run.model.parameterCount,
        gpuBytes: run.model.backend.allocatedBytes(),
        ...(run.model.backend instanceof CpuBackend ? { cpuThreads: run.model.backend.threading } : {}),
        final,
        meanStepTiming: meanTiming(run.steps.slice(Math.floor(run.steps.length / 2))),
        spec,
      };
      if (run.task instanceof NiahTask && preset.evaluation) {
        const samples = preset.evaluation.niahSamples ?? 64;
        const byDistance: Record<string, number> = {};
        for (const d of preset.evaluation.niahDistances ?? [run.niahHeadlineDistance(run.task)]) {
          byDistance[d] = await run.niahAccuracy(run.task.atDistance(d, samples));
          process.stderr.write(
            `[${tag}] NIAH exact match, needle ${d} tokens back: ${(100 * byDistance[d]).toFixed(1)}%\n`,
          );
        }
        result.niahByDistance = byDistance;
        const grid = preset.evaluation.niahGrid;
        if (grid) result.niahGrid = await run.niahGrid(grid.lengths, grid.depths, grid.samples);
        // After training: the final evaluation measured them on the same samples.
        if (hitsBefore)
          result.rosaNeedleHits = { before: hitsBefore.layers, after: final.needleHits ?? null };
      }
      results.push(result);
      if (ok) trained.set(`${spec.name}#${repeat}`, await run.model.exportParameters());
      run.dispose();
    }

    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      adapter: gpu?.adapter ?? null,
      optionalFeatures: gpu ? optionalFeatureStatus(gpu.adapter) : null,
      scanWorkers: scanner.workers,
    };
    const aggregates = seedAggregates(results);
    await writeFile(
      join(out, 'results.json'),
      `${JSON.stringify({ preset, backend, machine, ...(base ? { base: baseSummary(base) } : {}), results, aggregates }, null, 2)}
`,
    );
    await writeFile(join(out, 'metrics.csv'), `${csv.join('\n')}\n`);
    process.stderr.write(`wrote ${join(out, 'results.json')} and metrics.csv\n`);
    const summary = results.map((r) => ({
      name: r.name,
      seed: r.seed,
      status: r.status,
      niahByDistance: r.niahByDistance,
      final: r.final,
    }));
    console.log(JSON.stringify(summary, null, 2));
  } finally {
    await scanner.terminate?.();
  }
  if (failures > 0) {
    process.stderr.write(`experiment: ${failures} run(s) did not finish; see the messages above\n`);
    return 1;
  }
  return 0;
}

/** Seed `seed` of a spec: its own id (and checkpoints) when the variant is repeated. */
function seededSpec(spec: PresetRun['spec'], seed: number): PresetRun['spec'] {
  if (spec.train.repeats === 1) return spec;
  return { ...spec, id: `${spec.id}-seed${seed}`, train: { ...spec.train, seed } };
}

/** Which seed of `variant` seed `repeat` starts from: the same one, or its first when it has fewer. */
function sourceRepeat(runs: PresetRun[], variant: string, repeat: number): number {
  const repeats = runs.find((r) => r.spec.name === variant)?.spec.train.repeats ?? 1;
  return repeat < repeats ? repeat : 0;
}

/** The figures of each variant over its seeds: mean, min, max, sd and n of every number reported. */
function seedAggregates(
  results: Record<string, unknown>[],
): Array<{ name: string; seeds: number[]; metrics: Record<string, Spread> }> {
  const names = [...new Set(results.map((r) => r.name as string))];
  return names.map((name) => {
    const mine = results.filter((r) => r.name === name);
    const figures = mine.map((r) => ({
      final: r.final,
      niahByDistance: r.niahByDistance,
      steps: r.steps,
      wallSeconds: r.wallSeconds,
    }));
    return { name, seeds: mine.map((r) => r.seed as number), metrics: spreadByPath(figures) };
  });
}

function baseSummary(base: { dir: string; imported: HfImport }): Record<string, unknown> {
  return { folder: base.dir, architecture: base.imported.architecture, model: base.imported.config };
}

function meanTiming(steps: StepMetrics[]): Record<string, number> {
  const keys = ['total', 'forward', 'scan', 'waiting', 'overlap', 'backward', 'optimizer'] as const;
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = steps.length ? steps.reduce((a, s) => a + s.timing[k], 0) / steps.length : 0;
  return out;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CliError || err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`experiment: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`experiment: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
