// `npm run experiment -- --preset <name> [--backend webgpu|cpu] [--out <dir>] [--steps N] [--workers N]`
// Runs every variant of a preset on the same data and seed, prints progress, and writes
// results.json (configuration, machine, final metrics, NIAH figures) and metrics.csv.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { csvRow } from '../src/common/csv.ts';
import { FileCheckpointStore } from '../src/gpu/checkpoint/store-node.ts';
import type { GpuContext } from '../src/gpu/context.ts';
import type { RosaScanner } from '../src/gpu/model/backend.ts';
import { inlineScanner } from '../src/gpu/model/scanners.ts';
import { createNodeGpuContext } from '../src/gpu/platform/node.ts';
import { ConfigError, createRun } from '../src/gpu/train/factory.ts';
import { type ExperimentPreset, presetRunSpecs } from '../src/gpu/train/preset.ts';
import type { Backend, EvalMetrics, StepMetrics, TrainerEvent } from '../src/gpu/train/protocol.ts';
import { loadCorpusNode } from '../src/tasks/corpus-node.ts';
import { NiahTask } from '../src/tasks/niah.ts';
import { formatDuration } from '../src/ui/format.ts';
import { createNodeScanner } from './node-scanner.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function fail(message: string): never {
  process.stderr.write(`experiment: ${message}\n`);
  process.exit(2);
}

const CSV_COLUMNS = [
  'run',
  'kind',
  'step',
  'loss',
  'accuracy',
  'lr',
  'grad_norm',
  'tokens_per_s',
  'total_ms',
  'forward_ms',
  'scan_ms',
  'waiting_ms',
  'overlap_ms',
  'backward_ms',
  'optimizer_ms',
  'niah_distance',
  'niah_accuracy',
];

function metricsRow(
  run: string,
  m: { kind: 'train'; s: StepMetrics } | { kind: 'eval'; e: EvalMetrics },
): string {
  const cells =
    m.kind === 'train'
      ? [
          run,
          'train',
          m.s.step,
          m.s.loss,
          m.s.accuracy,
          m.s.lr,
          m.s.gradNorm,
          m.s.tokensPerSecond,
          m.s.timing.total,
          m.s.timing.forward,
          m.s.timing.scan,
          m.s.timing.waiting,
          m.s.timing.overlap,
          m.s.timing.backward,
          m.s.timing.optimizer,
          '',
          '',
        ]
      : [
          run,
          'eval',
          m.e.step,
          m.e.loss,
          m.e.accuracy,
          '',
          '',
          '',
          '',
          '',
          '',
          '',
          '',
          '',
          '',
          m.e.niahAtDistance?.distance ?? '',
          m.e.niahAtDistance?.accuracy ?? '',
        ];
  return csvRow(cells.map((c) => (typeof c === 'number' ? Number(c.toPrecision(6)) : c)));
}

async function main(): Promise<void> {
  const presetName = arg('preset') ?? fail('--preset <name> is required (see presets/*.json)');
  const presetPath = resolve('presets', `${presetName}.json`);
  let preset: ExperimentPreset;
  try {
    preset = JSON.parse(await readFile(presetPath, 'utf8')) as ExperimentPreset;
  } catch (err) {
    fail(`cannot read preset ${presetPath}: ${(err as Error).message}`);
  }
  const backend = (arg('backend') ?? 'webgpu') as Backend;
  if (backend !== 'webgpu' && backend !== 'cpu') fail(`--backend must be webgpu or cpu (got ${backend})`);
  const steps = arg('steps') ? Number(arg('steps')) : undefined;
  const out = resolve(
    arg('out') ?? join('runs', `${presetName}-${new Date().toISOString().replace(/[:.]/g, '-')}`),
  );
  const only = arg('variants')?.split(',');

  let gpu: GpuContext | null = null;
  if (backend === 'webgpu') gpu = await createNodeGpuContext();
  const workers = arg('workers') !== undefined ? Number(arg('workers')) : undefined;
  const scanner: RosaScanner = workers === 0 ? inlineScanner() : await createNodeScanner(workers);
  const store = new FileCheckpointStore(join(out, 'checkpoints'));
  await mkdir(out, { recursive: true });

  const specs = presetRunSpecs(preset, backend, steps ? { steps } : {}).filter(
    (s) => !only || only.includes(s.name),
  );
  const csv: string[] = [CSV_COLUMNS.join(',')];
  const results: Record<string, unknown>[] = [];
  process.stderr.write(
    `${preset.name}: ${preset.description}\n${specs.length} run(s) on ${backend}` +
      `${gpu ? ` (${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description})` : ''}, ` +
      `${scanner.workers} scan worker(s); output in ${out}\n`,
  );

  for (const spec of specs) {
    const started = performance.now();
    const onEvent = (e: TrainerEvent) => {
      if (e.type === 'step') {
        csv.push(metricsRow(spec.name, { kind: 'train', s: e.metrics }));
        const m = e.metrics;
        if (m.step % 10 === 0 || m.step === spec.train.steps) {
          const elapsed = performance.now() - started;
          const eta = (elapsed / m.step) * (spec.train.steps - m.step);
          process.stderr.write(
            `[${spec.name}] step ${m.step}/${spec.train.steps} loss ${m.loss.toFixed(4)} acc ${m.accuracy.toFixed(3)} ` +
              `| ${Math.round(m.tokensPerSecond)} tok/s | ETA ${formatDuration(eta)}\n`,
          );
        }
      } else if (e.type === 'eval') {
        csv.push(metricsRow(spec.name, { kind: 'eval', e: e.metrics }));
        const n = e.metrics.niahAtDistance;
        process.stderr.write(
          `[${spec.name}] eval @${e.metrics.step}: loss ${e.metrics.loss.toFixed(4)} acc ${e.metrics.accuracy.toFixed(3)}` +
            `${n ? ` NIAH@${n.distance} ${(100 * n.accuracy).toFixed(1)}%` : ''}\n`,
        );
      } else if (e.type === 'error') {
        process.stderr.write(`[${spec.name}] ERROR: ${e.message}\n`);
      }
    };
    let run: Awaited<ReturnType<typeof createRun>>;
    try {
      run = await createRun(
        spec,
        { gpu, scanner, loadCorpus: async (n) => loadCorpusNode(n), store },
        onEvent,
      );
    } catch (err) {
      if (err instanceof ConfigError) fail(`${spec.name}: ${err.message}`);
      throw err;
    }
    await run.run();
    const final = run.evals.at(-1) ?? (await run.evaluate());
    const result: Record<string, unknown> = {
      name: spec.name,
      status: run.status,
      steps: run.step,
      wallSeconds: (performance.now() - started) / 1000,
      parameters: run.model.parameterCount,
      gpuBytes: run.model.backend.allocatedBytes(),
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
          `[${spec.name}] NIAH exact match, needle ${d} tokens back: ${(100 * byDistance[d]).toFixed(1)}%\n`,
        );
      }
      result.niahByDistance = byDistance;
      const grid = preset.evaluation.niahGrid;
      if (grid) result.niahGrid = await run.niahGrid(grid.lengths, grid.depths, grid.samples);
    }
    results.push(result);
    run.model.dispose();
  }

  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    adapter: gpu?.adapter ?? null,
    scanWorkers: scanner.workers,
  };
  await writeFile(
    join(out, 'results.json'),
    `${JSON.stringify({ preset, backend, machine, results }, null, 2)}\n`,
  );
  await writeFile(join(out, 'metrics.csv'), `${csv.join('\n')}\n`);
  process.stderr.write(`wrote ${join(out, 'results.json')} and metrics.csv\n`);
  const summary = results.map((r) => ({
    name: r.name,
    status: r.status,
    niahByDistance: r.niahByDistance,
    final: r.final,
  }));
  console.log(JSON.stringify(summary, null, 2));
  await (scanner as { terminate?: () => Promise<void> }).terminate?.();
  process.exit(0);
}

function meanTiming(steps: StepMetrics[]): Record<string, number> {
  const keys = ['total', 'forward', 'scan', 'waiting', 'overlap', 'backward', 'optimizer'] as const;
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = steps.length ? steps.reduce((a, s) => a + s.timing[k], 0) / steps.length : 0;
  return out;
}

await main();
