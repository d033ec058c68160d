// `npm run bench:step [-- --backend webgpu|cpu] [--T 256] [--width 64] [--batch 8] [--steps 6]
//   [--only window,window+rosa] [--micro 2] [--scan-latency 20] [--profile]`
// Times training steps of each variant at the same shape and prints the breakdown (forward,
// scan, waiting, overlap, backward, optimizer), the ROSA overhead (step time of window+rosa
// over window), the analytical FLOPs of a step per variant (matmul and attention, forward and
// backward: src/config/duration.ts stepFlopParts) with their ratio window+rosa ÷ window, and, on
// WebGPU, what one step asks of the GPU (dispatches, submits, passes, clears, bind groups, bytes
// written, sync points: counters.ts). JSON on stdout. Not a test.
// --scan-latency ms holds a layer's scan of the whole batch back that long (a micro-batch's scan
// its share of it) without using a core: a stand-in for a scan that is long against the
// model's work (as beside a fast GPU), to see what micro-batches hide of it here.

import { cpus } from 'node:os';
import { createNodeScanner } from '../cli/node-scanner.ts';
import { type StepFlops, stepFlopParts } from '../src/config/duration.ts';
import type { GpuContext } from '../src/gpu/context.ts';
import type { RosaScanner } from '../src/gpu/model/backend.ts';
import { defaultModelConfig, type Variant } from '../src/gpu/model/config.ts';
import { createNodeGpuContext } from '../src/gpu/platform/node.ts';
import { createRun } from '../src/gpu/train/factory.ts';
import { profileTrainingStep } from '../src/gpu/train/profile-step.ts';
import type { StepMetrics } from '../src/gpu/train/protocol.ts';
import { defaultTrainConfig } from '../src/gpu/train/train-config.ts';
import { loadCorpusNode } from '../src/tasks/corpus-node.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const backendArg = process.argv.includes('--backend')
  ? process.argv[process.argv.indexOf('--backend') + 1]
  : 'webgpu';
const backend = backendArg === 'cpu' ? 'cpu' : 'webgpu';
const T = arg('T', 256);
const width = arg('width', 64);
const batchSize = arg('batch', 8);
const steps = arg('steps', 6);
const window = arg('window', 32);
/** train.microBatches: parts per batch, their passes interleaved with the ROSA scans. */
const microBatches = arg('micro', 1);
const profile = process.argv.includes('--profile');

const gpu: GpuContext | null = backend === 'webgpu' ? await createNodeGpuContext() : null;
const scanLatency = arg('scan-latency', 0);
// Lanes of a whole batch's scan: sequences × routes (width / bits, at the default bits).
const batchLanes = (batchSize * width) / defaultModelConfig({ width }).rosa.bits;
const scanner = withLatency(await createNodeScanner(), scanLatency, batchLanes);
const allVariants: Variant[] = ['window', 'window+rosa', 'global', 'lrsa'];
const onlyArg = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
const variants = onlyArg ? allVariants.filter((v) => onlyArg.split(',').includes(v)) : allVariants;
const rows: Record<string, unknown>[] = [];
const means: Record<string, number> = {};
const flops: Record<string, StepFlops> = {};
for (const variant of variants) {
  const model = defaultModelConfig({
    seqLen: T,
    layers: 2,
    width,
    heads: 2,
    mlpHidden: 2 * width,
    window,
    variant,
    lrsa: { sink: 4, chunk: 32, ratio: 0.25, scoreVRatio: 1 },
  });
  const run = await createRun(
    {
      id: `bench-${variant}`,
      name: variant,
      backend,
      task: { kind: 'niah', seqLen: T, keyLength: 2, filler: 'random' },
      model,
      train: defaultTrainConfig({ steps: steps + 2, batchSize, microBatches, evalEvery: 0, warmupSteps: 1 }),
    },
    { gpu, scanner, loadCorpus: async (n) => loadCorpusNode(n), store: null },
    () => {},
  );
  const timed: StepMetrics[] = [];
  for (let i = 0; i < steps + 2; i++) {
    if (i === 2) gpu?.counters.reset();
    const m = await run.trainStep();
    if (m && i >= 2) timed.push(m); // the first steps compile pipelines and size buffers
  }
  const counts = gpu?.counters.snapshot() ?? null;
  const perStep = counts
    ? Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / Math.max(1, timed.length)]))
    : null;
  const mean = (k: keyof StepMetrics['timing']) => timed.reduce((a, m) => a + m.timing[k], 0) / timed.length;
  flops[variant] = stepFlopParts(model, batchSize, T);
  const row = {
    variant,
    stepMs: mean('total'),
    forwardMs: mean('forward'),
    scanMs: mean('scan'),
    waitingMs: mean('waiting'),
    overlapMs: mean('overlap'),
    backwardMs: mean('backward'),
    optimizerMs: mean('optimizer'),
    tokensPerSecond: timed.reduce((a, m) => a + m.tokensPerSecond, 0) / timed.length,
    /** Analytical FLOPs of one step (forward and backward), and the rate they imply. */
    flops: { ...flops[variant], total: flops[variant].matmul + flops[variant].attention },
    gflopsPerSecond: (flops[variant].matmul + flops[variant].attention) / mean('total') / 1e6,
    gpuBytes: run.model.backend.allocatedBytes(),
    /** Per step, averaged over the timed steps (WebGPU only). */
    gpuCounts: perStep,
    /** With --profile: GPU time per kernel of one more step (timestamp-query), slowest first. */
    kernels:
      profile && gpu?.canProfile
        ? (await profileTrainingStep(gpu, run.spec.model, batchSize, scanner)).kernels.map((k) => ({
            ...k,
            totalMs: Number(k.totalMs.toFixed(4)),
          }))
        : undefined,
  };
  means[variant] = row.stepMs;
  rows.push(row);
  run.model.dispose();
  process.stderr.write(`${variant}: ${row.stepMs.toFixed(1)} ms/step\n`);
}
function flopRatio(rosa: StepFlops | undefined, window: StepFlops | undefined): number | null {
  if (!rosa || !window) return null;
  return (rosa.matmul + rosa.attention) / (window.matmul + window.attention);
}
console.log(
  JSON.stringify(
    {
      backend,
      adapter: gpu?.adapter ?? null,
      cpus: cpus().length,
      scanWorkers: scanner.workers,
      shape: { T, width, batchSize, microBatches, window, layers: 2 },
      scanLatencyMs: scanLatency,
      rows,
      rosaOverhead: means['window+rosa'] !== undefined ? means['window+rosa'] / means.window : null,
      /** The same ratio for the arithmetic alone: what the adapter's projections add at this shape. */
      rosaFlopRatio: flopRatio(flops['window+rosa'], flops.window),
    },
    null,
    2,
  ),
);
await scanner.terminate?.();
process.exit(0);

/** `ms` for a scan of `batchLanes` lanes, its share for a call with fewer. */
function withLatency(inner: RosaScanner, ms: number, batchLanes: number): RosaScanner {
  if (ms <= 0) return inner;
  return {
    ...inner,
    scan: async (mode, shape, ...rest) => {
      const delay = (ms * shape.lanes) / batchLanes;
      await Promise.all([
        inner.scan(mode, shape, ...rest),
        new Promise((resolve) => setTimeout(resolve, delay)),
      ]);
    },
  };
}
