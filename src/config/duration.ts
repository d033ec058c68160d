// How long a run will take on this device, before it starts: the floating-point work of a
// training step (matrix products and attention, forward and backward) at a device rate, plus a
// fixed cost per layer and step (kernel dispatches on WebGPU, op overhead on the CPU) and the
// ROSA scans, which run on CPU workers. The rate is assumed per kind of device until a run on
// this device has been timed; then it is measured from that run (calibrateRate).

import { attentionKind, kvHeadCount, rosaLayers } from '../gpu/model/config.ts';
import { lagkvKeepCount } from '../gpu/reference/lrsa.ts';
import { warmupLength } from '../gpu/train/schedule.ts';
import type { ModelConfig, RunSpec } from './schema.ts';

export type DeviceClass = 'gpu' | 'software-gpu' | 'cpu';

export interface DeviceRate {
  /** Floating-point operations per millisecond. */
  flopsPerMs: number;
  /**
   * Fixed milliseconds per layer and training step (dispatch and op overhead); the embedding,
   * head, loss and optimizer count as two more layers.
   */
  msPerLayer: number;
  source: 'assumed' | 'measured';
}

/**
 * Assumed rates until a run here has been timed. Measured with the CLI on a shared 2-core AMD
 * EPYC VM (load ≈ 12): the CPU backend ran niah-compare-small's window variant (2 × 64 wide,
 * 16 × 48 tokens, 0.41 GFLOP a step) at ≈ 59 ms a step, ≈ 7 GFLOP/s; SwiftShader ran niah-quick
 * (20 MFLOP a step) at ≈ 200 ms and niah-compare-small at 16 tokens (136 MFLOP) at ≈ 1.5 s a
 * step, ≈ 0.1 GFLOP/s, so compute rather than dispatch bounds it. A hardware GPU is not measured
 * here: 200 GFLOP/s with a 1 ms dispatch floor per layer is assumed.
 */
export const ASSUMED_RATES: Record<DeviceClass, DeviceRate> = {
  gpu: { flopsPerMs: 2e8, msPerLayer: 1, source: 'assumed' },
  'software-gpu': { flopsPerMs: 1e5, msPerLayer: 5, source: 'assumed' },
  cpu: { flopsPerMs: 7e6, msPerLayer: 2, source: 'assumed' },
};

/** ROSA scan throughput of one CPU worker, symbols (lane × position) per millisecond. */
export const SCAN_SYMBOLS_PER_MS = 20_000;

/** Floating-point operations of one training step, by kind: matrix products and attention. */
export interface StepFlops {
  /** Projections (q/k/v/o, MLP, ROSA adapter, output head): 2 per multiply-add. */
  matmul: number;
  /** Attention scores and weighted values (q·k and p·v) over the keys each query sees. */
  attention: number;
}

/**
 * stepFlops split into its matrix products and attention (forward ×3: the backward does
 * twice the forward's work). A ROSA layer adds 4 C×C projections (its q, k, v and output).
 */
export function stepFlopParts(model: ModelConfig, batch: number, T = model.seqLen): StepFlops {
  const { width: C, mlpHidden: F, vocabSize: V, layers } = model;
  const N = batch * T;
  const kvDim = kvHeadCount(model) * (C / model.heads);
  const rosa = new Set(rosaLayers(model));
  let perToken = V * C; // the output head
  let attention = 0;
  for (let l = 0; l < layers; l++) {
    perToken += 2 * C * C + 2 * kvDim * C + 3 * C * F + (rosa.has(l) ? 4 * C * C : 0);
    const kind = attentionKind(model, l);
    // Keys each query sees, on average over a causal sequence.
    const keys =
      kind === 'global'
        ? (T + 1) / 2
        : kind === 'window'
          ? Math.min(model.window, T)
          : Math.min(model.window, T) +
            model.lrsa.sink +
            (lagkvKeepCount(model.lrsa.chunk, model.lrsa.ratio) * T) / (2 * model.lrsa.chunk);
    attention += 4 * N * Math.min(keys, T) * C; // q·k and p·v
  }
  return { matmul: 3 * 2 * N * perToken, attention: 3 * attention };
}

/** Floating-point operations of one training step (forward ×3) of `batch` sequences of T tokens. */
export function stepFlops(model: ModelConfig, batch: number, T = model.seqLen): number {
  const { matmul, attention } = stepFlopParts(model, batch, T);
  return matmul + attention;
}

function stepMs(spec: RunSpec, rate: DeviceRate, T: number, workers: number, forwardOnly = false): number {
  const m = spec.model;
  const flops = stepFlops(m, spec.train.batchSize, T) / (forwardOnly ? 3 : 1);
  const scanLayers = rosaLayers(m).length;
  const symbols = spec.train.batchSize * (m.width / m.rosa.bits) * T;
  const scanMs = (scanLayers * symbols) / (SCAN_SYMBOLS_PER_MS * Math.max(1, workers));
  return flops / rate.flopsPerMs + (m.layers + 2) * rate.msPerLayer * (forwardOnly ? 0.5 : 1) + scanMs;
}

/** Estimated milliseconds of a whole run: its steps (with the length warm-up) and evaluations. */
export function estimateRunMs(spec: RunSpec, rate: DeviceRate, workers = 1): number {
  const { steps, lengthWarmup = 0, evalEvery, evalBatches } = spec.train;
  const T = spec.task.seqLen;
  let total = 0;
  // Steps at each warm-up length, counted in stretches rather than one by one.
  const warm = Math.min(steps, lengthWarmup);
  let s = 0;
  while (s < warm) {
    const len = warmupLength(s, lengthWarmup, T, 1);
    let e = s + 1;
    while (e < warm && warmupLength(e, lengthWarmup, T, 1) === len) e++;
    total += (e - s) * stepMs(spec, rate, len, workers);
    s = e;
  }
  total += (steps - warm) * stepMs(spec, rate, T, workers);
  const evalMs = evalBatches * stepMs(spec, rate, T, workers, true);
  if (spec.evalOnly) return evalMs;
  return total + (evalEvery > 0 ? Math.ceil(steps / evalEvery) : 0) * evalMs;
}

/** The device rate a timed run implies (ms per full-length step), keeping the assumed overheads. */
export function calibrateRate(
  spec: RunSpec,
  msPerStep: number,
  assumed: DeviceRate,
  workers = 1,
): DeviceRate {
  const overhead = stepMs(
    spec,
    { ...assumed, flopsPerMs: Number.POSITIVE_INFINITY },
    spec.task.seqLen,
    workers,
  );
  const compute = Math.max(msPerStep - overhead, msPerStep * 0.1);
  return {
    flopsPerMs: stepFlops(spec.model, spec.train.batchSize, spec.task.seqLen) / compute,
    msPerLayer: assumed.msPerLayer,
    source: 'measured',
  };
}
