// The experiment form as the user edits it: every numeric field is kept as the text typed
// (or read from the link), so half-typed or invalid values survive and can be explained.
// `buildExperiment` turns a draft into one RunSpec per selected variant and collects every
// field's messages, from the engine's own validators (validateModelConfig, validateTrainConfig,
// validateTaskSpec), with the device's limits when they are known.

import {
  DEFAULT_LRSA,
  DEFAULT_ROSA,
  defaultModelConfig,
  type FieldError,
  type ModelConfig,
  ROSA_SEMANTICS,
  type RosaConfig,
  type RosaSemantics,
  type SizeLimits,
  VARIANTS,
  type Variant,
  validateModelConfig,
} from '../../gpu/model/config.ts';
import type { Backend, RunSpec, TaskSpec, TrainConfig, TrainingProtocol } from '../../gpu/train/protocol.ts';
import { defaultTrainConfig, validateTaskSpec, validateTrainConfig } from '../../gpu/train/train-config.ts';
import type { NiahFiller } from '../../tasks/niah.ts';
import { PASSKEY_VOCAB_SIZE } from '../../tasks/passkey-vocab.ts';
import { buildCharVocabulary } from '../../tasks/text.ts';

export type TaskKind = TaskSpec['kind'];
export const TASK_KINDS: TaskKind[] = ['niah', 'mqar', 'text', 'induction'];
export const TASK_LABELS: Record<TaskKind, string> = {
  niah: 'NIAH passkey',
  mqar: 'MQAR (associative recall)',
  text: 'Character-level text',
  induction: 'Induction (copy)',
};
export const BACKENDS: Backend[] = ['webgpu', 'cpu'];
export const PROTOCOLS: TrainingProtocol[] = ['all', 'adapter-only', 'two-stage'];
export const NIAH_FILLERS: NiahFiller[] = ['letters', 'random', 'repeat', 'copy', 'corpus'];
export type RosaQk = NonNullable<RosaConfig['qk']>;
export const ROSA_QK: RosaQk[] = ['independent', 'tied-init', 'shared'];

/** Largest vocabulary of a character-level text task (TextTask's maxVocab). */
export const TEXT_MAX_VOCAB = 256;

export interface ExperimentDraft {
  task: TaskKind;
  seqLen: string;
  // NIAH
  keyLength: string;
  filler: NiahFiller;
  /** NIAH loss on the answer only, or next-token loss everywhere. */
  niahLoss: 'answer' | 'all';
  // MQAR and induction
  taskVocab: string;
  pairs: string;
  gaps: 'power' | 'uniform';
  randomFiller: boolean;
  segment: string;
  // text
  textSource: 'moby-dick' | 'user';
  /** The user's own text; never put in the link (too long, and private). */
  userText: string;
  userTextName: string;
  // model
  variants: Variant[];
  layers: string;
  width: string;
  heads: string;
  mlpHidden: string;
  window: string;
  layer0Global: boolean;
  bits: string;
  semantics: RosaSemantics;
  /** How the ROSA q and k projections relate. */
  qk: RosaQk;
  /** Initial e1 = +eInit, e0 = −eInit. */
  eInit: string;
  /** Learning-rate scale of the ROSA projections. */
  projectionLrScale: string;
  lrsaSink: string;
  lrsaChunk: string;
  lrsaRatio: string;
  // training
  steps: string;
  batchSize: string;
  lr: string;
  rosaLr: string;
  warmupSteps: string;
  lengthWarmup: string;
  evalEvery: string;
  evalBatches: string;
  checkpointEvery: string;
  protocol: TrainingProtocol;
  stageASteps: string;
  seed: string;
  backend: Backend;
}

const T0 = defaultTrainConfig();
const M0 = defaultModelConfig();

export const DEFAULT_DRAFT: ExperimentDraft = {
  task: 'niah',
  seqLen: '256',
  keyLength: '2',
  filler: 'random',
  niahLoss: 'answer',
  taskVocab: '64',
  pairs: '8',
  gaps: 'power',
  randomFiller: false,
  segment: '32',
  textSource: 'moby-dick',
  userText: '',
  userTextName: '',
  variants: ['window', 'window+rosa', 'global'],
  layers: String(M0.layers),
  width: String(M0.width),
  heads: String(M0.heads),
  mlpHidden: String(M0.mlpHidden),
  window: String(M0.window),
  layer0Global: false,
  bits: String(DEFAULT_ROSA.bits),
  semantics: DEFAULT_ROSA.semantics,
  qk: 'independent',
  eInit: '0',
  projectionLrScale: '1',
  lrsaSink: String(DEFAULT_LRSA.sink),
  lrsaChunk: String(DEFAULT_LRSA.chunk),
  lrsaRatio: String(DEFAULT_LRSA.ratio),
  steps: String(T0.steps),
  batchSize: String(T0.batchSize),
  lr: String(T0.lr),
  rosaLr: String(T0.rosaLr),
  warmupSteps: String(T0.warmupSteps),
  lengthWarmup: '0',
  evalEvery: String(T0.evalEvery),
  evalBatches: String(T0.evalBatches),
  checkpointEvery: String(T0.checkpointEvery),
  protocol: T0.protocol,
  stageASteps: String(T0.stageASteps),
  seed: String(T0.seed),
  backend: 'webgpu',
};

export type DraftKey = keyof ExperimentDraft;
export type TextDraftKey = {
  [K in DraftKey]: ExperimentDraft[K] extends string
    ? string extends ExperimentDraft[K]
      ? K
      : never
    : never;
}[DraftKey];
/** Fields that hold one of a fixed set of strings (the form shows them as selects). */
export type ChoiceDraftKey = {
  [K in DraftKey]: ExperimentDraft[K] extends string
    ? string extends ExperimentDraft[K]
      ? never
      : K
    : never;
}[DraftKey];

/**
 * The validator field name each draft field's messages are filed under (the names
 * validateModelConfig / validateTrainConfig / validateTaskSpec use).
 */
export const FIELD_OF: Record<DraftKey, string> = {
  task: 'task.kind',
  seqLen: 'task.seqLen',
  keyLength: 'task.keyLength',
  filler: 'task.filler',
  niahLoss: 'task.loss',
  taskVocab: 'task.vocabSize',
  pairs: 'task.pairs',
  gaps: 'task.gaps',
  randomFiller: 'task.randomFiller',
  segment: 'task.segment',
  textSource: 'task.source',
  userText: 'task.text',
  userTextName: 'task.name',
  variants: 'variants',
  layers: 'layers',
  width: 'width',
  heads: 'heads',
  mlpHidden: 'mlpHidden',
  window: 'window',
  layer0Global: 'globalLayers',
  bits: 'rosa.bits',
  semantics: 'rosa.semantics',
  qk: 'rosa.qk',
  eInit: 'rosa.eInit',
  projectionLrScale: 'rosa.projectionLrScale',
  lrsaSink: 'lrsa.sink',
  lrsaChunk: 'lrsa.chunk',
  lrsaRatio: 'lrsa.ratio',
  steps: 'train.steps',
  batchSize: 'train.batchSize',
  lr: 'train.lr',
  rosaLr: 'train.rosaLr',
  warmupSteps: 'train.warmupSteps',
  lengthWarmup: 'train.lengthWarmup',
  evalEvery: 'train.evalEvery',
  evalBatches: 'train.evalBatches',
  checkpointEvery: 'train.checkpointEvery',
  protocol: 'train.protocol',
  stageASteps: 'train.stageASteps',
  seed: 'train.seed',
  backend: 'backend',
};

/** Model-config fields that are really the task's (the model copies them from the task). */
const MODEL_FIELD_ALIASES: Record<string, string> = {
  seqLen: 'task.seqLen',
  vocabSize: 'task.vocabSize',
};

export interface EngineCapabilities {
  /** Device limits (from EngineInfo.adapter.limits); absent until known. */
  limits?: SizeLimits;
  /** Why WebGPU cannot be used (no adapter, …); null when it can. */
  webgpuUnavailable?: string | null;
}

export interface BuiltExperiment {
  specs: RunSpec[];
  errors: FieldError[];
  /** Messages by validator field name, deduplicated, in order. */
  byField: Record<string, string[]>;
  /** Non-blocking remarks (e.g. "limits not known yet"). */
  notes: string[];
}

function parseNumber(raw: string): number | null {
  const s = raw.trim();
  if (s === '' || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return null;
  const x = Number(s);
  return Number.isFinite(x) ? x : null;
}

class Parser {
  readonly errors: FieldError[] = [];
  private readonly bad = new Set<string>();

  constructor(private readonly draft: ExperimentDraft) {}

  /** The number in draft[key], or `fallback` (with a message) when it is not a number. */
  num(key: TextDraftKey, fallback: number, integer = false): number {
    const raw = this.draft[key];
    const field = FIELD_OF[key];
    const x = parseNumber(raw);
    if (x === null) {
      this.errors.push({
        field,
        message: raw.trim() === '' ? 'is required' : `must be a number (got "${raw.trim().slice(0, 40)}")`,
      });
      this.bad.add(field);
      return fallback;
    }
    if (integer && !Number.isInteger(x)) {
      this.errors.push({ field, message: `must be a whole number (got ${raw.trim()})` });
      this.bad.add(field);
      return Math.round(x);
    }
    return x;
  }

  int(key: TextDraftKey, fallback: number): number {
    return this.num(key, fallback, true);
  }

  /** Adds validator messages, except for fields that already failed to parse. */
  add(errors: FieldError[]): void {
    for (const e of errors) if (!this.bad.has(e.field)) this.errors.push(e);
  }
}

/** The task spec of a draft (numbers that fail to parse fall back to defaults; see buildExperiment). */
function taskOf(draft: ExperimentDraft, p: Parser): TaskSpec {
  const seqLen = p.int('seqLen', 256);
  switch (draft.task) {
    case 'niah':
      return {
        kind: 'niah',
        seqLen,
        keyLength: p.int('keyLength', 2),
        filler: draft.filler,
        ...(draft.filler === 'corpus' ? { corpus: 'moby-dick' as const } : {}),
        loss: draft.niahLoss,
      };
    case 'mqar':
      return {
        kind: 'mqar',
        seqLen,
        vocabSize: p.int('taskVocab', 64),
        pairs: p.int('pairs', 8),
        gaps: draft.gaps,
        randomFiller: draft.randomFiller,
      };
    case 'induction':
      return { kind: 'induction', seqLen, vocabSize: p.int('taskVocab', 64), segment: p.int('segment', 32) };
    case 'text':
      return draft.textSource === 'user'
        ? {
            kind: 'text',
            seqLen,
            source: 'user',
            text: draft.userText,
            ...(draft.userTextName ? { name: draft.userTextName } : {}),
          }
        : { kind: 'text', seqLen, source: 'moby-dick' };
  }
}

let vocabCache: { text: string; size: number } | null = null;

function userTextVocabSize(text: string): number {
  if (vocabCache?.text !== text) vocabCache = { text, size: buildCharVocabulary(text, TEXT_MAX_VOCAB).size };
  return vocabCache.size;
}

/** Vocabulary size the model needs for a task. */
export function vocabSizeForTask(task: TaskSpec): number {
  switch (task.kind) {
    case 'niah':
      return PASSKEY_VOCAB_SIZE;
    case 'mqar':
    case 'induction':
      return task.vocabSize;
    case 'text':
      return task.source === 'user' && task.text ? userTextVocabSize(task.text) : TEXT_MAX_VOCAB;
  }
}

export function modelConfigOf(
  draft: ExperimentDraft,
  variant: Variant,
  task: TaskSpec,
  p: Parser = new Parser(draft),
): ModelConfig {
  return defaultModelConfig({
    vocabSize: vocabSizeForTask(task),
    seqLen: task.seqLen,
    layers: p.int('layers', 2),
    width: p.int('width', 64),
    heads: p.int('heads', 2),
    mlpHidden: p.int('mlpHidden', 176),
    window: p.int('window', 32),
    globalLayers: draft.layer0Global ? [0] : [],
    variant,
    rosa: {
      ...DEFAULT_ROSA,
      bits: p.int('bits', 4),
      semantics: draft.semantics,
      ...(draft.qk !== 'independent' ? { qk: draft.qk } : {}),
      eInit: p.num('eInit', 0),
      projectionLrScale: p.num('projectionLrScale', 1),
    },
    lrsa: {
      ...DEFAULT_LRSA,
      sink: p.int('lrsaSink', DEFAULT_LRSA.sink),
      chunk: p.int('lrsaChunk', DEFAULT_LRSA.chunk),
      ratio: p.num('lrsaRatio', DEFAULT_LRSA.ratio),
    },
  });
}

function trainOf(draft: ExperimentDraft, p: Parser): TrainConfig {
  return defaultTrainConfig({
    steps: p.int('steps', 500),
    batchSize: p.int('batchSize', 8),
    lr: p.num('lr', 3e-3),
    rosaLr: p.num('rosaLr', 3e-3),
    warmupSteps: p.int('warmupSteps', 20),
    lengthWarmup: p.int('lengthWarmup', 0),
    evalEvery: p.int('evalEvery', 50),
    evalBatches: p.int('evalBatches', 4),
    checkpointEvery: p.int('checkpointEvery', 0),
    protocol: draft.protocol,
    stageASteps: draft.protocol === 'two-stage' ? p.int('stageASteps', 0) : 0,
    seed: p.int('seed', 1),
  });
}

function dedupe(errors: FieldError[]): { errors: FieldError[]; byField: Record<string, string[]> } {
  const byField: Record<string, string[]> = {};
  const out: FieldError[] = [];
  for (const e of errors) {
    byField[e.field] ??= [];
    const list = byField[e.field];
    if (!list.includes(e.message)) {
      list.push(e.message);
      out.push(e);
    }
  }
  return { errors: out, byField };
}

export interface BuildOptions {
  /** Experiment id; run ids are `${experimentId}/${variant}`. */
  experimentId?: string;
  /** Prefix of run names in legends (e.g. "E3"); names are `${label} ${variant}`. */
  label?: string;
  engine?: EngineCapabilities;
}

/** One RunSpec per selected variant on the same task, data and seed, plus every field's messages. */
export function buildExperiment(draft: ExperimentDraft, options: BuildOptions = {}): BuiltExperiment {
  const p = new Parser(draft);
  const notes: string[] = [];
  const errors: FieldError[] = [];
  if (!TASK_KINDS.includes(draft.task)) errors.push({ field: 'task.kind', message: 'pick a task' });
  const task = taskOf(draft, p);
  const train = trainOf(draft, p);
  const variants = VARIANTS.filter((v) => draft.variants.includes(v));
  if (variants.length === 0)
    errors.push({ field: 'variants', message: 'pick at least one variant to train' });
  if (!ROSA_SEMANTICS.includes(draft.semantics))
    errors.push({ field: 'rosa.semantics', message: `must be one of ${ROSA_SEMANTICS.join(', ')}` });
  if (!ROSA_QK.includes(draft.qk))
    errors.push({ field: 'rosa.qk', message: `must be one of ${ROSA_QK.join(', ')}` });
  if (!BACKENDS.includes(draft.backend))
    errors.push({ field: 'backend', message: `must be one of ${BACKENDS.join(', ')}` });
  const engine = options.engine ?? {};
  if (draft.backend === 'webgpu' && engine.webgpuUnavailable) {
    errors.push({
      field: 'backend',
      message: `WebGPU cannot be used here (${engine.webgpuUnavailable}); choose cpu`,
    });
  }
  const limits = draft.backend === 'webgpu' ? engine.limits : undefined;
  if (draft.backend === 'webgpu' && !engine.limits && !engine.webgpuUnavailable) {
    notes.push('The device limits are not known yet, so model sizes are not yet checked against them.');
  }

  p.add(validateTaskSpec(task));
  p.add(validateTrainConfig(train));
  const experimentId = options.experimentId ?? 'draft';
  const label = options.label ?? '';
  const specs: RunSpec[] = [];
  for (const variant of variants) {
    const model = modelConfigOf(draft, variant, task, p);
    p.add(
      validateModelConfig(model, train.batchSize, limits).map((e) => ({
        field: MODEL_FIELD_ALIASES[e.field] ?? e.field,
        message: e.message,
      })),
    );
    specs.push({
      id: `${experimentId}/${variant}`,
      name: label ? `${label} ${variant}` : variant,
      task,
      model,
      train,
      backend: draft.backend,
    });
  }
  const all = dedupe([...errors, ...p.errors]);
  return { specs: all.errors.length === 0 ? specs : [], errors: all.errors, byField: all.byField, notes };
}

/** Where on the form a validator field is shown; messages for other fields go to the summary. */
export const FORM_FIELDS = new Set<string>(Object.values(FIELD_OF));
