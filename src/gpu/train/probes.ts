// What a trained run can be asked besides its loss: which positions ROSA retrieved, the greedy
// answer to a user-built needle-in-a-haystack prompt, and NIAH exact-match accuracy (the
// headline distance and the length × depth grid). The prompts are laid out by tasks/niah.ts.

import { type NiahSample, NiahTask, niahPrompt, stackSamples } from '../../tasks/niah.ts';
import type { TaskGenerator } from '../../tasks/types.ts';
import type { RosaScanner, Sized } from '../model/backend.ts';
import { attentionKind, rosaLayers } from '../model/config.ts';
import type { Model } from '../model/model.ts';
import { attentionProbabilities } from '../reference/attention-probabilities.ts';
import { lagkvKeepCount, lagkvSelectReference, lrsaVisibleMask } from '../reference/lrsa.ts';
import { rosaRoutes } from '../reference/rosa.ts';
import type { AttentionMap, NiahAnswer, NiahGridCell, NiahQuery, RetrievalMap, RunSpec } from './protocol.ts';
import { argmaxRows, exactMatches } from './tasks.ts';

/** What the probes need of a run. */
export interface ProbeSubject<F extends Sized, I extends Sized> {
  readonly spec: RunSpec;
  readonly model: Model<F, I>;
  readonly task: TaskGenerator;
  readonly scanner: RosaScanner;
}

function routesOf(spec: RunSpec): number {
  return rosaRoutes({ C: spec.model.width, bits: spec.model.rosa.bits });
}

/** ROSA retrievals of validation sample `sample` at `layer`. */
export async function retrievalMap<F extends Sized, I extends Sized>(
  run: ProbeSubject<F, I>,
  sample: number,
  layer: number,
): Promise<RetrievalMap> {
  const { spec, model, task } = run;
  if (!rosaLayers(spec.model).includes(layer)) {
    throw new Error(
      `layer ${layer} has no ROSA adapter in this run (ROSA layers: ${rosaLayers(spec.model).join(', ') || 'none'})`,
    );
  }
  const batch = task.batch('validation', sample, 1);
  await model.forward(batch.tokens, null, 1, batch.T, run.scanner, false);
  const scan = model.lastScan(layer);
  if (!scan) throw new Error(`no retrievals were recorded at layer ${layer}`);
  const R = routesOf(spec);
  const kind = attentionKind(spec.model, layer);
  return {
    runId: spec.id,
    layer,
    T: batch.T,
    tokens: Array.from(batch.tokens, (id) => task.vocab.decode(id)),
    routes: R,
    dest: Int32Array.from(scan.host.dest.subarray(0, R * batch.T)),
    window: kind === 'window' ? spec.model.window : batch.T,
    attention: kind,
  };
}

/**
 * What each attention head of `layer` attends to on validation sample `sample`: the softmax
 * probabilities, recomputed on the CPU from the q and k the layer used, over the keys its
 * variant lets each query see (the window band, everything for global attention, and for LRSA
 * the LagKV selection, recomputed from k and v by the CPU twin of the selection kernel).
 */
export async function attentionMap<F extends Sized, I extends Sized>(
  run: ProbeSubject<F, I>,
  sample: number,
  layer: number,
): Promise<AttentionMap> {
  const { spec, model, task } = run;
  const m = spec.model;
  if (!Number.isInteger(layer) || layer < 0 || layer >= m.layers) {
    throw new Error(`layer: ${layer} is outside 0 … ${m.layers - 1} for this model`);
  }
  if (!Number.isInteger(sample) || sample < 0)
    throw new Error(`sample: must be a whole number ≥ 0 (got ${sample})`);
  const batch = task.batch('validation', sample, 1);
  await model.forward(batch.tokens, null, 1, batch.T, run.scanner, false);
  const { T, q, k, v } = await model.readAttentionInputs(layer);
  const kind = attentionKind(m, layer);
  const H = m.heads;
  const D = m.width / H;
  const window = kind === 'window' ? Math.min(m.window, T) : T;
  let probs: Float32Array;
  if (kind === 'lrsa') {
    const lshape = {
      batch: 1,
      seqLen: T,
      heads: H,
      headDim: D,
      sink: m.lrsa.sink,
      chunk: m.lrsa.chunk,
      keep: lagkvKeepCount(m.lrsa.chunk, m.lrsa.ratio),
    };
    const { selected } = lagkvSelectReference(k, v, lshape, { scoreVRatio: m.lrsa.scoreVRatio });
    probs = attentionProbabilities(
      q,
      k,
      { B: 1, T, H, D, window: T },
      {
        kind: 'mask',
        mask: lrsaVisibleMask(selected, lshape),
      },
    );
  } else {
    probs = attentionProbabilities(q, k, { B: 1, T, H, D, window });
  }
  return {
    runId: spec.id,
    layer,
    T,
    tokens: Array.from(batch.tokens, (id) => task.vocab.decode(id)),
    heads: H,
    probs,
    window,
    attention: kind,
  };
}

function requireNiah({ spec, task }: { spec: RunSpec; task: TaskGenerator }): NiahTask {
  if (!(task instanceof NiahTask))
    throw new Error(`run "${spec.name}" was trained on ${spec.task.kind}, not on NIAH`);
  return task;
}

/** Greedy answer of the model to a user-built haystack, with the retrievals behind each answer token. */
export async function niahQuery<F extends Sized, I extends Sized>(
  run: ProbeSubject<F, I>,
  query: NiahQuery,
): Promise<NiahAnswer> {
  const { spec, model } = run;
  const task = requireNiah(run);
  const key = query.key.trim();
  if (!/^[0-9]+$/.test(key)) throw new Error(`key: use digits only (got "${query.key}")`);
  if (key.length !== task.keyLength) {
    throw new Error(`key: this model was trained on ${task.keyLength}-digit keys (got ${key.length} digits)`);
  }
  const hay = task.spelling.encode(query.haystack);
  // Needle, question and the first k − 1 answer tokens fed back in.
  const maxHay = spec.model.seqLen - task.minLength + 1;
  if (hay.length > maxHay) {
    throw new Error(
      `haystack: ${hay.length} ${task.spelling.tokenized ? 'tokens' : 'characters'} is longer than this model's limit of ${maxHay} (sequence length ${spec.model.seqLen})`,
    );
  }
  if (hay.length < 1) throw new Error('haystack: is empty');
  const keyTokens = Array.from(key, (d) => task.spelling.digits[Number(d)]);
  const prompt = niahPrompt(hay, keyTokens, query.depth, task.spelling);
  const seq = Array.from(prompt.tokens);
  const retrievals: NiahAnswer['retrievals'] = [];
  const V = spec.model.vocabSize;
  const layers = rosaLayers(spec.model);
  const R = routesOf(spec);
  for (let i = 0; i < task.keyLength; i++) {
    const T = seq.length;
    await model.forward(Int32Array.from(seq), null, 1, T, run.scanner, false);
    const next = argmaxRows(await model.readLogitRow(T - 1), 1, V)[0];
    for (const layer of layers) {
      const scan = model.lastScan(layer);
      if (!scan) continue;
      const dest = Array.from({ length: R }, (_, r) => scan.host.dest[r * T + T - 1]);
      retrievals.push({ layer, position: T - 1, dest });
    }
    seq.push(next);
  }
  const answerTokens = seq.slice(prompt.tokens.length);
  const answer = answerTokens.map((t) => task.vocab.decode(t)).join('');
  return {
    runId: spec.id,
    answer,
    correct: answer === key,
    needlePos: prompt.needlePos,
    keyPos: prompt.keyPos,
    queryPos: prompt.queryPos,
    tokens: seq.map((t) => task.vocab.decode(t)),
    retrievals,
  };
}

/** 8× the window (the paper's "far beyond the window" setting), capped to what fits in T. */
export function niahHeadlineDistance(task: NiahTask, window: number): number {
  const max = task.layout().queryPos;
  return Math.min(8 * window, max);
}

/** Greedy exact match of the key, over samples of one length. */
export async function niahAccuracy<F extends Sized, I extends Sized>(
  run: ProbeSubject<F, I>,
  samples: NiahSample[],
): Promise<number> {
  if (samples.length === 0) return 0;
  const b = stackSamples(samples.map((s) => ({ tokens: s.tokens, targets: s.answerTargets })));
  await run.model.forward(b.tokens, null, b.B, b.T, run.scanner, false);
  const ok = exactMatches(await run.model.readLogits(), b.targets, b.B, b.T, run.spec.model.vocabSize);
  return ok.filter(Boolean).length / ok.length;
}

/** NIAH accuracy over the (context length × needle depth) grid. */
export async function niahGrid<F extends Sized, I extends Sized>(
  run: ProbeSubject<F, I>,
  lengths: number[],
  depths: number[],
  samples: number,
): Promise<NiahGridCell[]> {
  const task = requireNiah(run);
  const seqLen = run.spec.model.seqLen;
  const cells: NiahGridCell[] = [];
  for (const length of lengths) {
    const min = task.minLength;
    if (!Number.isInteger(length) || length < min || length > seqLen) {
      throw new Error(`lengths: ${length} is outside ${min} … ${seqLen} for this model`);
    }
    for (const depth of depths) {
      cells.push({ length, depth, accuracy: await niahAccuracy(run, task.atDepth(length, depth, samples)) });
    }
  }
  return cells;
}
