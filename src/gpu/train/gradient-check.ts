// Does the counterfactual surrogate (docs/rosa-spec.md §4) point the way the real loss goes?
//
// What is compared. The ROSA forward depends on q, k, v only through their sign bits, so the
// real loss is a function of bits and is piecewise constant in Wq, Wk, Wv: a tiny-ε finite
// difference of a weight is zero almost everywhere, and a large one flips many bits at once
// (across positions and routes) and mixes their effects. The unit the surrogate itself reasons
// about is one bit: its gradient of an activation x is σ'(x) · d, where d is its estimate of
// L(bit = 1) − L(bit = 0) (the Q contrast D¹ − D⁰, the K credit U¹ − U⁰, the V sum of θ). So
// the check flips one bit at a time, of one query, key or value activation, reruns the whole
// forward pass (every later position and layer, the scan included, as BlinkDL's global finite
// difference does) and takes the true L(bit = 1) − L(bit = 0). Per ROSA layer and route it
// reports the cosine and the sign agreement of the two vectors of bit derivatives, and the same
// cosine one step further, at the weights: both bit vectors go through the same chain the model
// uses (σ'(x) · d, then dW = gᵀ u), so the weight-level figure tells whether an update of Wq,
// Wk or Wv from the surrogate moves the same way as one from the true bit effects.
//
// Exactly zero, and skipped: positions after the last labelled one of their sequence (causal:
// neither the loss nor the surrogate can see them), and value bits no query retrieves. The rest
// can be subsampled (seeded) to bound the number of forward passes. Everything is deterministic.
// Per layer, descent-check.ts then takes finite steps of Wq/Wk/Wv along the surrogate gradient
// (and along the gradient built from the true bit derivatives, and random directions) and reports
// the loss changes: whether following the surrogate lowers the real loss once many bits flip at once.

import { rng } from '../../common/random.ts';
import type { TaskBatch, TaskGenerator } from '../../tasks/types.ts';
import { hasRosa, type ModelConfig, rosaLayers } from '../model/config.ts';
import { Model } from '../model/model.ts';
import { layerParamNames } from '../model/params.ts';
import { inlineScanner } from '../model/scanners.ts';
import { sigmoidSlope } from '../reference/rosa.ts';
import {
  type Agreement,
  agreementOf,
  type PartialAgreement,
  partOf,
  type RouteSamples,
  shiftedCosineOf,
  weightGradient,
} from './bit-agreement.ts';
import { type DescentMatrix, type DescentStep, descentSteps } from './descent-check.ts';
import type { RunSpec } from './protocol.ts';
import {
  ROSA_ROUTES,
  type RosaLayerCapture,
  type RosaRoute,
  SymbolFlipBackend,
} from './symbol-flip-backend.ts';

export type { Agreement, PartialAgreement, RosaRoute };

export interface GradientCheckOptions {
  /** Most bits flipped per (layer, route); a seeded subsample of the candidates beyond that. */
  maxFlipsPerRoute?: number;
  /** Seed of the subsample. */
  seed?: number;
  /** Multiplies the surrogate before comparing: −1 checks that the check can tell a wrong sign. */
  surrogateScale?: number;
  /** Routes to check (default all three). */
  routes?: readonly RosaRoute[];
  /** Flipped copies of a sequence evaluated in one forward pass (default 32). */
  copiesPerPass?: number;
  /** Relative step sizes of the descent check (default 0.01, 0.03, 0.1; [] skips it). */
  descentSteps?: readonly number[];
}

export interface RouteCheck extends Agreement {
  route: RosaRoute;
  /**
   * q and k: the bits at the first position of a run of equal symbols (a Q-run for q, a K-run
   * for k; every position in 'rwkv8') and the bits inside runs. The surrogate reasons about run
   * symbols (its Q contrast is taken at the Q-run start and reused inside the run; its K credit
   * goes to K-run starts only), while a flip inside a run splits it.
   */
  runStart?: PartialAgreement;
  insideRun?: PartialAgreement;
  /**
   * k only: cosine of the surrogate at time τ with the true derivative at τ − 1, over the pairs
   * evaluated. The surrogate credits the key run *after* the matched one (the run whose v is
   * read, §4 "K credit goes to the successor run"), while a key flip acts on the matched run,
   * whose last token is τ − 1; a high figure here and a low plain cosine mean right credit, wrong place.
   */
  shiftedCosine?: number | null;
}

export interface LayerCheck extends Agreement {
  layer: number;
  routes: RouteCheck[];
  /** Mean |e1 − e0| over channels: the surrogate is proportional to it (θ = g · Δ). */
  meanAbsDelta: number;
  /** Share of (position, route) pairs that retrieved something. */
  matchedShare: number;
  /** Loss changes after finite steps of this layer's Wq, Wk, Wv (descent-check.ts); [] when skipped. */
  descent: DescentStep[];
}

export interface GradientCheckSettings {
  semantics: ModelConfig['rosa']['semantics'];
  qk: ModelConfig['rosa']['qk'];
  bits: number;
  eInit: number;
  tempQ: number;
  tempK: number;
  tempV: number;
  vProbContrast: boolean;
  width: number;
  layers: number;
  B: number;
  T: number;
  maxFlipsPerRoute: number | null;
  seed: number;
  surrogateScale: number;
}

export interface GradientCheckResult {
  layers: LayerCheck[];
  settings: GradientCheckSettings;
  /** Mean loss of the unperturbed batch. */
  baseLoss: number;
  /** Bits flipped, over every layer and route. */
  flips: number;
  forwardPasses: number;
  elapsedMs: number;
}

export interface GradientCheckInput {
  config: ModelConfig;
  parameters: ReadonlyMap<string, Float32Array>;
  batch: TaskBatch;
  options?: GradientCheckOptions;
}

/** Per (lane, t): 1 where t starts a run of `route`'s symbols in the scan's terms. */
function runStarts(route: RosaRoute, capture: RosaLayerCapture, lanes: number, T: number): Uint8Array {
  const out = new Uint8Array(lanes * T);
  for (let lane = 0; lane < lanes; lane++) {
    for (let t = 0; t < T; t++) {
      const at = lane * T + t;
      if (route === 'q') out[at] = t === 0 || capture.qRunId[at] !== capture.qRunId[at - 1] ? 1 : 0;
      else if (route === 'k') {
        const s = capture.kRunStart[at];
        if (s >= 0) out[lane * T + s] = 1;
      }
    }
  }
  return out;
}

/** Last labelled position of each sequence (−1 when none): later positions cannot move the loss. */
function lastLabelled(batch: TaskBatch): Int32Array {
  const last = new Int32Array(batch.B).fill(-1);
  for (let b = 0; b < batch.B; b++)
    for (let t = 0; t < batch.T; t++) if (batch.targets[b * batch.T + t] >= 0) last[b] = t;
  return last;
}

/** Activation indices of one route worth flipping: visible to the loss, and (for v) retrieved. */
function candidates(route: RosaRoute, capture: RosaLayerCapture, batch: TaskBatch, config: ModelConfig) {
  const { B, T } = batch;
  const C = config.width;
  const bits = config.rosa.bits;
  const R = C / bits;
  const last = lastLabelled(batch);
  const retrieved = new Uint8Array(B * R * T);
  for (let lane = 0; lane < B * R; lane++) {
    const b = Math.floor(lane / R);
    for (let t = 0; t <= Math.min(T - 1, last[b]); t++) {
      const d = capture.dest[lane * T + t];
      if (d >= 0) retrieved[lane * T + d] = 1;
    }
  }
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t <= last[b]; t++) {
      for (let c = 0; c < C; c++) {
        if (route === 'v' && !retrieved[(b * R + Math.floor(c / bits)) * T + t]) continue;
        out.push((b * T + t) * C + c);
      }
    }
  }
  return out;
}

/** A seeded subsample of `n` of the items, in their original order. */
function subsample(items: number[], n: number, seed: number): number[] {
  if (items.length <= n) return items;
  const r = rng(seed);
  const copy = items.slice();
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(r() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n).sort((a, b) => a - b);
}

/** Σ over the labelled positions of each sequence of its cross-entropy, in float64: [B]. */
function sequenceLossSums(logits: Float32Array, labels: Int32Array, B: number, T: number, V: number) {
  const sums = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const n = b * T + t;
      const label = labels[n];
      if (label < 0) continue;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[n * V + v]);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[n * V + v] - max);
      sums[b] += max + Math.log(sum) - logits[n * V + label];
    }
  }
  return sums;
}

/** One bit to evaluate: where its true derivative goes once its copy's loss is known. */
interface FlipJob {
  ordinal: number;
  route: RosaRoute;
  /** Sequence, position and channel of the bit in the checked batch. */
  b: number;
  t: number;
  c: number;
  samples: RouteSamples;
  at: number;
}

/**
 * Runs the check on one batch: one forward and backward pass for the surrogate, then forward
 * passes over copies of each sequence, one flipped bit per copy (batch elements are independent
 * on the CPU backend, row by row, so each copy's loss is what a pass with that flip alone would
 * give; an unflipped pass checks that every copy agrees bit for bit). The model is rebuilt on the
 * CPU backend from `parameters`, so weights trained on any backend can be checked.
 */
export async function checkCounterfactualGradient(input: GradientCheckInput): Promise<GradientCheckResult> {
  const started = performance.now();
  const { config, parameters, batch } = input;
  const options = input.options ?? {};
  const seed = options.seed ?? 1;
  const scale = options.surrogateScale ?? 1;
  const maxFlips = options.maxFlipsPerRoute ?? null;
  const copiesPerPass = Math.max(1, Math.floor(options.copiesPerPass ?? 32));
  const { B, T, tokens, targets } = batch;
  const C = config.width;
  const V = config.vocabSize;
  const R = C / config.rosa.bits;
  const backend = new SymbolFlipBackend();
  const weights = new Map([...parameters].map(([name, data]) => [name, Float32Array.from(data)]));
  const model = new Model(backend, config, weights);
  const scanner = inlineScanner();

  backend.capturing = true;
  const base = await model.forward(tokens, targets, B, T, scanner, true);
  model.backward();
  backend.capturing = false;
  const baseLoss = base.loss.meanLoss;
  let forwardPasses = 1;
  let labelCount = 0;
  for (const label of targets) if (label >= 0) labelCount++;

  // The surrogate's bit derivatives, and the list of bits whose true derivative is needed.
  const rosa = rosaLayers(config);
  const samplesByLayer: RouteSamples[][] = [];
  const jobs: FlipJob[] = [];
  for (let ordinal = 0; ordinal < rosa.length; ordinal++) {
    const capture = backend.captures.get(ordinal);
    if (!capture) throw new Error(`gradient check: no backward capture for ROSA layer ${rosa[ordinal]}`);
    const temps = { q: capture.options.tempQ, k: capture.options.tempK, v: capture.options.tempV };
    const samplesByRoute: RouteSamples[] = [];
    for (const [routeIndex, route] of ROSA_ROUTES.entries()) {
      if (options.routes && !options.routes.includes(route)) continue;
      const all = candidates(route, capture, batch, config);
      const indices =
        maxFlips === null ? all : subsample(all, maxFlips, seed * 7919 + ordinal * 31 + routeIndex);
      const x = capture[route];
      const grad = route === 'q' ? capture.gradQ : route === 'k' ? capture.gradK : capture.gradV;
      const n = indices.length;
      const samples: RouteSamples = {
        route,
        indices,
        surrogate: new Float64Array(n),
        truth: new Float64Array(n),
        slope: new Float64Array(n),
        bit: new Uint8Array(n),
        runStart: new Uint8Array(n),
      };
      const starts = runStarts(route, capture, B * R, T);
      for (let s = 0; s < n; s++) {
        const i = indices[s];
        const slope = sigmoidSlope(x[i], temps[route]);
        samples.slope[s] = slope;
        samples.bit[s] = x[i] > 0 ? 1 : 0;
        const row = Math.floor(i / C);
        const b = Math.floor(row / T);
        samples.runStart[s] = starts[(b * R + Math.floor((i % C) / config.rosa.bits)) * T + (row % T)];
        // Undo the chain factor: what is left is the surrogate's L(bit = 1) − L(bit = 0).
        samples.surrogate[s] = slope > 0 ? (scale * grad[i]) / slope : 0;
        jobs.push({ ordinal, route, b, t: row % T, c: i % C, samples, at: s });
      }
      samplesByRoute.push(samples);
    }
    samplesByLayer.push(samplesByRoute);
  }

  // The true derivatives: per sequence, copies of it with one flip each.
  const M = copiesPerPass;
  const repTokens = new Int32Array(M * T);
  const repTargets = new Int32Array(M * T);
  for (let b = 0; b < B; b++) {
    const mine = jobs.filter((j) => j.b === b);
    if (mine.length === 0) continue;
    for (let m = 0; m < M; m++) {
      repTokens.set(tokens.subarray(b * T, (b + 1) * T), m * T);
      repTargets.set(targets.subarray(b * T, (b + 1) * T), m * T);
    }
    backend.flips = [];
    await model.forward(repTokens, repTargets, M, T, scanner);
    forwardPasses++;
    const unflipped = sequenceLossSums(await model.readLogits(), repTargets, M, T, V);
    if (unflipped.some((x) => x !== unflipped[0])) {
      throw new Error('gradient check: copies of one sequence disagree; batch elements are not independent');
    }
    for (let from = 0; from < mine.length; from += M) {
      const chunk = mine.slice(from, from + M);
      backend.flips = chunk.map((j, m) => ({
        ordinal: j.ordinal,
        route: j.route,
        index: (m * T + j.t) * C + j.c,
      }));
      await model.forward(repTokens, repTargets, M, T, scanner);
      forwardPasses++;
      const sums = sequenceLossSums(await model.readLogits(), repTargets, M, T, V);
      chunk.forEach((j, m) => {
        // The batch's mean loss moves by this sequence's change over every label of the batch.
        const change = (sums[m] - unflipped[0]) / labelCount;
        j.samples.truth[j.at] = j.samples.bit[j.at] ? -change : change;
      });
    }
    backend.flips = [];
  }

  const layers: LayerCheck[] = [];
  for (let ordinal = 0; ordinal < rosa.length; ordinal++) {
    const capture = backend.captures.get(ordinal)!;
    const samplesByRoute = samplesByLayer[ordinal];
    const names = layerParamNames(config, rosa[ordinal]).rosa!;
    // The layer's projection matrices (a shared q/k projection once), each with the model's
    // surrogate gradient and the gradient chained from the true bit derivatives.
    const routeParam = { q: names.wq, k: names.wk, v: names.wv };
    const matrices = new Map<string, DescentMatrix & { truth: Float64Array }>();
    for (const name of new Set(Object.values(routeParam))) {
      const state = model.params.get(name)!;
      matrices.set(name, { param: state.param, surrogate: state.grad, truth: new Float64Array(C * C) });
    }
    for (const s of samplesByRoute) {
      const g = Float64Array.from(s.truth, (d, i) => d * s.slope[i]);
      weightGradient(s.indices, g, capture.u, C, matrices.get(routeParam[s.route])!.truth, 0);
    }
    const descent =
      options.descentSteps?.length === 0
        ? []
        : await descentSteps({
            model,
            scanner,
            tokens,
            targets,
            B,
            T,
            baseLoss,
            matrices: [...matrices.values()],
            relativeSteps: options.descentSteps,
            seed: seed * 31 + ordinal,
          });
    const e0 = parameters.get(names.e0)!;
    const e1 = parameters.get(names.e1)!;
    let delta = 0;
    for (let c = 0; c < C; c++) delta += Math.abs(e1[c] - e0[c]);
    let matched = 0;
    for (const d of capture.dest) if (d >= 0) matched++;
    layers.push({
      layer: rosa[ordinal],
      ...agreementOf(samplesByRoute, capture.u, C, (route) =>
        config.rosa.qk === 'shared' && route === 'k' ? 0 : ROSA_ROUTES.indexOf(route),
      ),
      routes: samplesByRoute.map((s) => ({
        route: s.route,
        ...agreementOf([s], capture.u, C),
        ...(s.route === 'k' ? { shiftedCosine: shiftedCosineOf(s, C, T) } : {}),
        ...(s.route === 'v'
          ? {}
          : {
              runStart: partOf(s, (i) => s.runStart[i] === 1, capture.u, C),
              insideRun: partOf(s, (i) => s.runStart[i] === 0, capture.u, C),
            }),
      })),
      meanAbsDelta: delta / C,
      matchedShare: capture.dest.length > 0 ? matched / capture.dest.length : 0,
      descent,
    });
  }
  model.dispose();
  const r = config.rosa;
  return {
    layers,
    settings: {
      semantics: r.semantics,
      qk: r.qk,
      bits: r.bits,
      eInit: r.eInit ?? 0,
      tempQ: r.tempQ,
      tempK: r.tempK,
      tempV: r.tempV,
      vProbContrast: r.vProbContrast,
      width: C,
      layers: config.layers,
      B,
      T,
      maxFlipsPerRoute: maxFlips,
      seed,
      surrogateScale: scale,
    },
    baseLoss,
    flips: jobs.length,
    forwardPasses,
    elapsedMs: performance.now() - started,
  };
}

/** What the playground asks for: a run's current weights, checked on its first validation batch. */
export interface GradientCheckRequest {
  runId: string;
  /** Validation sequences in the batch (1–16). */
  sequences: number;
  /** Most bits flipped per layer and route (1–100000). */
  maxFlipsPerRoute: number;
}

/** What the check needs of a run (a TrainingRun has it). */
export interface GradientCheckSubject {
  readonly spec: RunSpec;
  readonly model: { exportParameters(): Promise<Map<string, Float32Array>> };
  readonly task: TaskGenerator;
}

export async function checkRunGradient(
  run: GradientCheckSubject,
  request: Pick<GradientCheckRequest, 'sequences' | 'maxFlipsPerRoute'>,
): Promise<GradientCheckResult> {
  const { sequences, maxFlipsPerRoute } = request;
  if (!hasRosa(run.spec.model)) throw new Error(`${run.spec.name} has no ROSA layers to check`);
  if (!Number.isInteger(sequences) || sequences < 1 || sequences > 16)
    throw new RangeError(`sequences must be a whole number from 1 to 16 (got ${sequences})`);
  if (!Number.isInteger(maxFlipsPerRoute) || maxFlipsPerRoute < 1 || maxFlipsPerRoute > 100_000)
    throw new RangeError(`flips per route must be a whole number from 1 to 100000 (got ${maxFlipsPerRoute})`);
  return checkCounterfactualGradient({
    config: run.spec.model,
    parameters: await run.model.exportParameters(),
    batch: run.task.batch('validation', 0, sequences),
    options: { maxFlipsPerRoute, seed: run.spec.train.seed },
  });
}
