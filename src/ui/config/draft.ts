// The experiment form as the user edits it: every numeric field is kept as the text typed
// (or read from the link), so half-typed or invalid values survive and can be explained.
// `buildExperiment` turns a draft into one RunSpec per selected variant and collects every
// field's messages, from the engine's own validators (validateModelConfig, validateTrainConfig,
// validateTaskSpec), with the device's limits when they are known.

import { seededName, seedsOf } from '../../common/seeds.ts';
import {
  cpuMemoryBudget,
  estimateRunMemory,
  formatBytes,
  gpuMemoryBudget,
  hostMemoryBytes,
} from '../../config/memory.ts';
import {
  BACKEND_KINDS,
  type BackendKind,
  NIAH_FILLERS,
  ROSA_QK,
  type RosaQk,
  TASK_KINDS,
  type TaskKind,
  TRAINING_PROTOCOLS,
} from '../../config/schema.ts';
import { checkRunSpec, type FieldError } from '../../config/validate.ts';
import { settingMeta } from '../../config/walk.ts';
import {
  DEFAULT_LRSA,
  DEFAULT_ROSA,
  defaultModelConfig,
  type ModelConfig,
  type RosaSemantics,
  type SizeLimits,
  VARIANTS,
  type Variant,
} from '../../gpu/model/config.ts';
import type { RunSpec, TaskSpec, TrainConfig, TrainingProtocol } from '../../gpu/train/protocol.ts';
import { defaultTrainConfig } from '../../gpu/train/train-config.ts';
import type { NiahFiller } from '../../tasks/niah.ts';
import { PASSKEY_VOCAB_SIZE } from '../../tasks/passkey-vocab.ts';
import { buildCharVocabulary } from '../../tasks/text.ts';

export type { RosaQk, TaskKind };
export { NIAH_FILLERS, ROSA_QK, TASK_KINDS };
export const TASK_LABELS: Record<TaskKind, string> = {
  niah: 'NIAH passkey',
  mqar: 'MQAR (associative recall)',
  text: 'Character-level text',
  induction: 'Induction (copy)',
};
export const BACKENDS = BACKEND_KINDS;
export const PROTOCOLS = TRAINING_PROTOCOLS;

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
  /** Text: characters copied from each sequence's start to its end (long-context probe). */
  textRepeat: string;
  /** Text and NIAH: the task's characters, or the tokenizer of the base checkpoint in `from`. */
  tokenizer: 'chars' | 'base';
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
  /** Parts each batch is split into (their passes interleave with the ROSA scans). */
  microBatches: string;
  lr: string;
  rosaLr: string;
  /** Base-model rate in stage B of two-stage tuning. */
  baseLr: string;
  warmupSteps: string;
  lengthWarmup: string;
  evalEvery: string;
  evalBatches: string;
  checkpointEvery: string;
  protocol: TrainingProtocol;
  stageASteps: string;
  seed: string;
  /** Runs of each variant, with seeds seed, seed + 1, … */
  repeats: string;
  backend: BackendKind;
  /** A stored checkpoint whose base weights every run starts from ('' = fresh weights). */
  from: string;
  /** Evaluate those weights under each variant without training. */
  evalOnly: boolean;
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
  textRepeat: '0',
  tokenizer: 'chars',
  variants: ['window', 'window+rosa', 'global'],
  layers: String(M0.layers),
  width: String(M0.width),
  heads: String(M0.heads),
  mlpHidden: String(M0.mlpHidden),
  window: String(M0.window),
  layer0Global: false,
  bits: String(DEFAULT_ROSA.bits),
  semantics: DEFAULT_ROSA.semantics,
  qk: DEFAULT_ROSA.qk,
  eInit: String(DEFAULT_ROSA.eInit),
  projectionLrScale: String(DEFAULT_ROSA.projectionLrScale),
  lrsaSink: String(DEFAULT_LRSA.sink),
  lrsaChunk: String(DEFAULT_LRSA.chunk),
  lrsaRatio: String(DEFAULT_LRSA.ratio),
  steps: String(T0.steps),
  batchSize: String(T0.batchSize),
  microBatches: String(T0.microBatches),
  lr: String(T0.lr),
  rosaLr: String(T0.rosaLr),
  baseLr: String(T0.baseLr),
  warmupSteps: String(T0.warmupSteps),
  lengthWarmup: String(T0.lengthWarmup),
  evalEvery: String(T0.evalEvery),
  evalBatches: String(T0.evalBatches),
  checkpointEvery: String(T0.checkpointEvery),
  protocol: T0.protocol,
  stageASteps: String(T0.stageASteps),
  seed: String(T0.seed),
  repeats: String(T0.repeats),
  backend: 'webgpu',
  from: '',
  evalOnly: false,
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
  textRepeat: 'task.repeat',
  tokenizer: 'task.tokenizer',
  variants: 'variants',
  layers: 'model.layers',
  width: 'model.width',
  heads: 'model.heads',
  mlpHidden: 'model.mlpHidden',
  window: 'model.window',
  layer0Global: 'model.globalLayers',
  bits: 'model.rosa.bits',
  semantics: 'model.rosa.semantics',
  qk: 'model.rosa.qk',
  eInit: 'model.rosa.eInit',
  projectionLrScale: 'model.rosa.projectionLrScale',
  lrsaSink: 'model.lrsa.sink',
  lrsaChunk: 'model.lrsa.chunk',
  lrsaRatio: 'model.lrsa.ratio',
  steps: 'train.steps',
  batchSize: 'train.batchSize',
  microBatches: 'train.microBatches',
  lr: 'train.lr',
  rosaLr: 'train.rosaLr',
  baseLr: 'train.baseLr',
  warmupSteps: 'train.warmupSteps',
  lengthWarmup: 'train.lengthWarmup',
  evalEvery: 'train.evalEvery',
  evalBatches: 'train.evalBatches',
  checkpointEvery: 'train.checkpointEvery',
  protocol: 'train.protocol',
  stageASteps: 'train.stageASteps',
  seed: 'train.seed',
  repeats: 'train.repeats',
  backend: 'backend',
  from: 'from',
  evalOnly: 'evalOnly',
};

/** Model-config fields that are really the task's (the model copies them from the task). */
const MODEL_FIELD_ALIASES: Record<string, string> = {
  'model.seqLen': 'task.seqLen',
  'model.vocabSize': 'task.vocabSize',
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
  /** Non-blocking remarks (e.g. "limits not known yet") that belong to no field on the form. */
  notes: string[];
  /** Warnings by validator field, for fields on the form (shown beside them). */
  warnings: Record<string, string[]>;
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

  /** The number in draft[key], or the setting's default (with a message) when it is not a number. */
  num(key: TextDraftKey, integer = false): number {
    const raw = this.draft[key];
    const field = FIELD_OF[key];
    const fallback = settingMeta(field, this.draft.task).default as number;
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

  int(key: TextDraftKey): number {
    return this.num(key, true);
  }

  /** Adds validator messages, except for fields that already failed to parse. */
  add(errors: FieldError[]): void {
    for (const e of errors) if (!this.bad.has(e.field)) this.errors.push(e);
  }
}

/** The task spec of a draft (numbers that fail to parse fall back to defaults; see buildExperiment). */
function taskOf(draft: ExperimentDraft, p: Parser): TaskSpec {
  const seqLen = p.int('seqLen');
  // Only when chosen, so that specs and links of character tasks stay as they were.
  const baseTokens = draft.tokenizer === 'base' ? { tokenizer: 'base' as const } : {};
  switch (draft.task) {
    case 'niah':
      return {
        kind: 'niah',
        seqLen,
        keyLength: p.int('keyLength'),
        filler: draft.filler,
        ...(draft.filler === 'corpus' ? { corpus: 'moby-dick' as const } : {}),
        loss: draft.niahLoss,
        ...baseTokens,
      };
    case 'mqar':
      return {
        kind: 'mqar',
        seqLen,
        vocabSize: p.int('taskVocab'),
        pairs: p.int('pairs'),
        gaps: draft.gaps,
        randomFiller: draft.randomFiller,
      };
    case 'induction':
      return { kind: 'induction', seqLen, vocabSize: p.int('taskVocab'), segment: p.int('segment') };
    case 'text': {
      const repeat = p.int('textRepeat');
      const probe = repeat !== 0 ? { repeat } : {};
      return draft.textSource === 'user'
        ? {
            kind: 'text',
            seqLen,
            source: 'user',
            text: draft.userText,
            ...(draft.userTextName ? { name: draft.userTextName } : {}),
            ...probe,
            ...baseTokens,
          }
        : { kind: 'text', seqLen, source: 'moby-dick', ...probe, ...baseTokens };
    }
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
    layers: p.int('layers'),
    width: p.int('width'),
    heads: p.int('heads'),
    mlpHidden: p.int('mlpHidden'),
    window: p.int('window'),
    globalLayers: draft.layer0Global ? [0] : [],
    variant,
    rosa: {
      ...DEFAULT_ROSA,
      bits: p.int('bits'),
      semantics: draft.semantics,
      qk: draft.qk,
      eInit: p.num('eInit'),
      projectionLrScale: p.num('projectionLrScale'),
    },
    lrsa: {
      ...DEFAULT_LRSA,
      sink: p.int('lrsaSink'),
      chunk: p.int('lrsaChunk'),
      ratio: p.num('lrsaRatio'),
    },
  });
}

function trainOf(draft: ExperimentDraft, p: Parser): TrainConfig {
  return defaultTrainConfig({
    steps: p.int('steps'),
    batchSize: p.int('batchSize'),
    microBatches: p.int('microBatches'),
    lr: p.num('lr'),
    rosaLr: p.num('rosaLr'),
    baseLr: draft.protocol === 'two-stage' ? p.num('baseLr') : T0.baseLr,
    warmupSteps: p.int('warmupSteps'),
    lengthWarmup: p.int('lengthWarmup'),
    evalEvery: p.int('evalEvery'),
    evalBatches: p.int('evalBatches'),
    checkpointEvery: p.int('checkpointEvery'),
    protocol: draft.protocol,
    stageASteps: draft.protocol === 'two-stage' ? p.int('stageASteps') : T0.stageASteps,
    seed: p.int('seed'),
    repeats: p.int('repeats'),
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

/**
 * One RunSpec per selected variant on the same task, data and seed (per variant and seed when
 * repeated: seeds seed, seed + 1, …), plus every field's messages.
 */
export function buildExperiment(draft: ExperimentDraft, options: BuildOptions = {}): BuiltExperiment {
  const p = new Parser(draft);
  const notes: string[] = [];
  const warnings: Record<string, string[]> = {};
  const errors: FieldError[] = [];
  if (!TASK_KINDS.includes(draft.task)) errors.push({ field: 'task.kind', message: 'pick a task' });
  const task = taskOf(draft, p);
  const train = trainOf(draft, p);
  if (draft.tokenizer === 'base' && (draft.task === 'niah' || draft.task === 'text') && !draft.from)
    errors.push({
      field: 'task.tokenizer',
      message: 'needs a base checkpoint: start from a Hugging Face model imported with its tokenizer.json',
    });
  const variants = VARIANTS.filter((v) => draft.variants.includes(v));
  if (variants.length === 0)
    errors.push({ field: 'variants', message: 'pick at least one variant to train' });
  const engine = options.engine ?? {};
  const limits = draft.backend === 'webgpu' ? engine.limits : undefined;
  if (draft.backend === 'webgpu' && !engine.limits && !engine.webgpuUnavailable) {
    notes.push('The device limits are not known yet, so model sizes are not yet checked against them.');
  }

  const experimentId = options.experimentId ?? 'draft';
  const label = options.label ?? '';
  const specs: RunSpec[] = [];
  for (const variant of variants) {
    const spec: RunSpec = {
      id: `${experimentId}/${variant}`,
      name: label ? `${label} ${variant}` : variant,
      task,
      model: modelConfigOf(draft, variant, task, p),
      train,
      backend: draft.backend,
      ...(draft.from ? { from: draft.from } : {}),
      ...(draft.from && draft.evalOnly ? { evalOnly: true } : {}),
    };
    const check = checkRunSpec(spec, { limits, webgpuUnavailable: engine.webgpuUnavailable });
    const alias = (e: FieldError) => ({ field: MODEL_FIELD_ALIASES[e.field] ?? e.field, message: e.message });
    p.add(check.errors.map(alias));
    for (const w of check.warnings.map(alias)) {
      if (FORM_FIELDS.has(w.field)) {
        warnings[w.field] ??= [];
        if (!warnings[w.field].includes(w.message)) warnings[w.field].push(w.message);
        continue;
      }
      const note = `${settingMeta(w.field).label}: ${w.message}.`;
      if (!notes.includes(note)) notes.push(note);
    }
    specs.push(...repeatedSpecs(spec));
  }
  const lastSeed = train.seed + train.repeats - 1;
  const maxSeed = settingMeta('train.seed').max!;
  if (train.repeats > 1 && lastSeed > maxSeed) {
    errors.push({
      field: 'train.seed',
      message: `with ${train.repeats} repeats the last seed would be ${lastSeed}, above the limit ${maxSeed}`,
    });
  }
  if (errors.length === 0 && p.errors.length === 0)
    errors.push(...togetherMemory(specs, draft.backend, limits));
  const all = dedupe([...errors, ...p.errors]);
  return {
    specs: all.errors.length === 0 ? specs : [],
    errors: all.errors,
    byField: all.byField,
    notes,
    warnings,
  };
}

/**
 * The runs of a comparison are built at Start and stay in memory together (their models are
 * kept for queries after training), so their sum must fit too; each one alone is checked by
 * the run rules.
 */
function togetherMemory(specs: RunSpec[], backend: RunSpec['backend'], limits?: SizeLimits): FieldError[] {
  if (specs.length < 2) return [];
  const budget =
    backend === 'cpu' ? cpuMemoryBudget(hostMemoryBytes()) : limits ? gpuMemoryBudget(limits) : null;
  const sum = specs.reduce((t, s) => t + estimateRunMemory(s.model, s.train.batchSize, s.backend).total, 0);
  if (!budget || sum <= budget.bytes) return [];
  return [
    {
      field: 'variants',
      message: `the ${specs.length} runs stay in memory together and need about ${formatBytes(sum)}, more than the limit of ${formatBytes(budget.bytes)} (${budget.source}); compare fewer variants at once or shrink the model`,
    },
  ];
}

/** A variant's spec once per seed when it is repeated: its own id and name for each. */
function repeatedSpecs(spec: RunSpec): RunSpec[] {
  if (spec.train.repeats <= 1) return [spec];
  return seedsOf(spec.train.seed, spec.train.repeats).map((seed) => ({
    ...spec,
    id: `${spec.id}/seed-${seed}`,
    name: seededName(spec.name, seed),
    train: { ...spec.train, seed },
  }));
}

/** Where on the form a validator field is shown; messages for other fields go to the summary. */
export const FORM_FIELDS = new Set<string>(Object.values(FIELD_OF));
