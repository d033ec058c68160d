// The checkpoint manifest (KEY.json): the run spec, the step, when it was saved and the
// metrics so far. Files come from disk, OPFS or uploads, so every field is checked before
// anything is stored or built from it; the first problems found are named in a CheckpointError.

import { type FieldError, validateModelConfig } from '../model/config.ts';
import type { EvalMetrics, RunSpec, StepMetrics } from '../train/protocol.ts';
import { validateTaskSpec, validateTrainConfig } from '../train/train-config.ts';
import { type CorpusRef, isCorpusRef } from './corpus.ts';
import { CheckpointError } from './errors.ts';
import { parseJsonBounded } from './json-guard.ts';

export const CHECKPOINT_FORMAT = 'rosa-playground-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  spec: RunSpec;
  step: number;
  savedAt: string;
  metrics: { steps: StepMetrics[]; evals: EvalMetrics[] };
  /** In a store: the user text of spec.task, kept once beside the manifests (see corpus.ts). */
  corpus?: CorpusRef;
}

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const isWhole = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
/** JSON writes NaN and ±∞ as null; metrics may hold them (a failed step's loss). */
const isNumberOrNull = (x: unknown) => x === null || typeof x === 'number';

const TASK_KINDS = ['niah', 'mqar', 'text', 'induction'];
const BACKENDS = ['webgpu', 'cpu'];

/** A field's allowed values (an enum list, or a type test); `optional` fields may be absent. */
type Rule = [field: string, allowed: readonly unknown[] | ((x: unknown) => boolean), optional?: boolean];

const isBool = (x: unknown) => typeof x === 'boolean';
const isString = (x: unknown) => typeof x === 'string';
const isIntArray = (x: unknown) => Array.isArray(x) && x.every((v) => Number.isInteger(v));

/** What the form's validators do not check (shapes and enums they assume), per part. */
const MODEL_RULES: Rule[] = [
  ['globalLayers', isIntArray],
  ['rosa', isObject, true],
  ['lrsa', isObject, true],
  ['rosa.vProbContrast', isBool, true],
  ['rosa.qk', ['independent', 'tied-init', 'shared'], true],
  ['rosa.layers', isIntArray, true],
];
const TASK_RULES: Record<string, Rule[]> = {
  niah: [
    ['filler', ['random', 'letters', 'repeat', 'copy', 'corpus']],
    ['corpus', ['moby-dick'], true],
    ['loss', ['answer', 'all'], true],
  ],
  mqar: [
    ['gaps', ['power', 'uniform']],
    ['randomFiller', isBool],
  ],
  text: [
    ['source', ['moby-dick', 'user']],
    ['text', isString, true],
    ['name', isString, true],
  ],
  induction: [],
};
const TRAIN_RULES: Rule[] = [['lengthWarmup', (x) => isWhole(x), true]];

function ruleErrors(part: string, value: Json, rules: Rule[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const [field, allowed, optional] of rules) {
    let x: unknown = value;
    for (const key of field.split('.')) x = isObject(x) ? x[key] : undefined;
    if (x === undefined && optional) continue;
    const ok = typeof allowed === 'function' ? allowed(x) : allowed.includes(x);
    if (!ok) {
      const message =
        typeof allowed === 'function' ? 'has the wrong type' : `must be one of ${allowed.join(', ')}`;
      errors.push({ field: `${part}.${field}`, message });
    }
  }
  return errors;
}

/**
 * Every check of the configuration part of a manifest (model, train, task), in one place.
 * For now it runs the form's validators, which assume the right shapes, so a crash on a
 * wrong shape is reported as a field error too.
 */
export function validateManifestConfig(config: {
  model: unknown;
  train: unknown;
  task: unknown;
}): FieldError[] {
  const errors: FieldError[] = [];
  for (const part of ['model', 'train', 'task'] as const) {
    if (!isObject(config[part])) errors.push({ field: part, message: 'must be an object' });
  }
  if (errors.length > 0) return errors;
  const task = config.task as Json;
  if (!TASK_KINDS.includes(task.kind as string)) {
    return [{ field: 'task.kind', message: `must be one of ${TASK_KINDS.join(', ')}` }];
  }
  errors.push(
    ...ruleErrors('model', config.model as Json, MODEL_RULES),
    ...ruleErrors('task', task, TASK_RULES[task.kind as string]),
    ...ruleErrors('train', config.train as Json, TRAIN_RULES),
  );
  // The validators below read these shapes without checking them.
  if (errors.some((e) => ['model.globalLayers', 'model.rosa', 'model.lrsa'].includes(e.field))) return errors;
  try {
    errors.push(
      ...validateModelConfig(config.model as RunSpec['model']),
      ...validateTrainConfig(config.train as RunSpec['train']),
      ...validateTaskSpec(config.task as RunSpec['task']),
    );
  } catch (err) {
    errors.push({ field: 'config', message: `has a field of the wrong type (${(err as Error).message})` });
  }
  return errors;
}

function metricsErrors(metrics: unknown): FieldError[] {
  if (metrics === undefined) return [];
  if (!isObject(metrics)) return [{ field: 'metrics', message: 'must be an object' }];
  const errors: FieldError[] = [];
  for (const list of ['steps', 'evals'] as const) {
    const entries = metrics[list];
    if (entries === undefined) continue;
    if (!Array.isArray(entries)) {
      errors.push({ field: `metrics.${list}`, message: 'must be an array' });
      continue;
    }
    const bad = entries.findIndex(
      (m) =>
        !isObject(m) ||
        !isWhole(m.step) ||
        !isNumberOrNull(m.loss) ||
        !isNumberOrNull(m.accuracy) ||
        Object.values(m).some((v) => typeof v === 'string' || typeof v === 'boolean'),
    );
    if (bad >= 0) {
      errors.push({
        field: `metrics.${list}[${bad}]`,
        message: 'must be an object with a whole step and numeric metrics',
      });
    }
  }
  return errors;
}

/** Every problem with a parsed manifest, field by field; [] when it is good. */
export function manifestErrors(m: unknown): FieldError[] {
  if (!isObject(m)) return [{ field: 'manifest', message: 'must be a JSON object' }];
  const errors: FieldError[] = [];
  if (!isWhole(m.step)) errors.push({ field: 'step', message: 'must be a whole number ≥ 0' });
  if (typeof m.savedAt !== 'string' || Number.isNaN(Date.parse(m.savedAt))) {
    errors.push({ field: 'savedAt', message: 'must be an ISO date' });
  }
  const spec = m.spec;
  if (!isObject(spec)) {
    errors.push({ field: 'spec', message: 'the run spec (model, train, task) is missing' });
    return errors;
  }
  if (typeof spec.id !== 'string' || spec.id.length === 0 || spec.id.length > 200) {
    errors.push({ field: 'spec.id', message: 'must be a non-empty string of at most 200 characters' });
  }
  if (typeof spec.name !== 'string' || spec.name.length > 200) {
    errors.push({ field: 'spec.name', message: 'must be a string of at most 200 characters' });
  }
  if (!BACKENDS.includes(spec.backend as string)) {
    errors.push({ field: 'spec.backend', message: `must be one of ${BACKENDS.join(', ')}` });
  }
  if (spec.fromCheckpoint !== undefined && typeof spec.fromCheckpoint !== 'string') {
    errors.push({ field: 'spec.fromCheckpoint', message: 'must be a string' });
  }
  let task = spec.task;
  if (m.corpus !== undefined) {
    // A stored manifest whose text is kept once beside it: validate as if it were inline.
    if (!isCorpusRef(m.corpus) || !isObject(task) || task.kind !== 'text' || task.text !== undefined) {
      errors.push({
        field: 'corpus',
        message: 'must be {name, hash, length} of a text task without inline text',
      });
    } else task = { ...task, text: ' '.repeat(Math.min(m.corpus.length, 1)) };
  }
  errors.push(...validateManifestConfig({ model: spec.model, train: spec.train, task }));
  errors.push(...metricsErrors(m.metrics));
  return errors;
}

function describe(errors: FieldError[]): string {
  return errors.map((e) => `${e.field} ${e.message}`).join('; ');
}

export function parseManifest(text: string, fileName = 'manifest'): CheckpointManifest {
  const json = parseJsonBounded(text, fileName, 'the manifest');
  const m = isObject(json) ? json : null;
  if (!m || m.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `${fileName}: not a ROSA Playground checkpoint manifest (format "${String(m?.format)}")`,
    );
  }
  if (m.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `${fileName}: version ${String(m.version)} is not supported (this build reads ${CHECKPOINT_VERSION})`,
    );
  }
  const errors = manifestErrors(m);
  if (errors.length > 0) throw new CheckpointError(`${fileName}: invalid manifest: ${describe(errors)}`);
  const metrics = (m.metrics ?? {}) as Partial<CheckpointManifest['metrics']>;
  return {
    ...(m as unknown as CheckpointManifest),
    metrics: { steps: metrics.steps ?? [], evals: metrics.evals ?? [] },
  };
}
