// The checkpoint manifest (KEY.json): the run spec, the step, when it was saved and the
// metrics so far. Files come from disk, OPFS or uploads, so every field is checked before
// anything is stored or built from it; the first problems found are named in a CheckpointError.

import { type FieldError, validateRunSpec } from '../../config/validate.ts';
import { withRunDefaults } from '../../config/walk.ts';
import type { EvalMetrics, RunSpec, StepMetrics } from '../train/protocol.ts';
import { type CorpusRef, isCorpusRef } from './corpus.ts';
import { CheckpointError } from './errors.ts';
import { parseJsonBounded } from './json-guard.ts';
import { tokenizerFieldErrors } from './tokenizer-file.ts';

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
  /** A base model's tokenizer.json (an imported Hugging Face model and runs started from it). */
  tokenizer?: string;
  /** In a store: that tokenizer, kept once beside the manifests (see tokenizer-file.ts). */
  tokenizerRef?: CorpusRef;
}

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const isWhole = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
/** JSON writes NaN and ±∞ as null; metrics may hold them (a failed step's loss). */
const isNumberOrNull = (x: unknown) => x === null || typeof x === 'number';

/**
 * The configuration part of a manifest (the run spec), checked by the settings schema exactly as
 * a new run is, with the defaults of settings the manifest predates filled in.
 */
export function validateManifestConfig(spec: unknown): FieldError[] {
  return validateRunSpec(withRunDefaults(spec)).map((e) => ({
    field: `spec.${e.field}`,
    message: e.message,
  }));
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
  let task = spec.task;
  if (m.corpus !== undefined) {
    // A stored manifest whose text is kept once beside it: validate as if it were inline.
    if (!isCorpusRef(m.corpus) || !isObject(task) || task.kind !== 'text' || task.text !== undefined) {
      errors.push({
        field: 'corpus',
        message: 'must be {name, hash, length} of a text task without inline text',
      });
    } else {
      // As long as the text (capped: the rules only ask for a few hundred kB at most).
      task = { ...task, text: ' '.repeat(Math.min(m.corpus.length, 1 << 20)) };
    }
  }
  errors.push(...validateManifestConfig({ ...spec, task }));
  errors.push(...tokenizerFieldErrors(m));
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
    spec: withRunDefaults(m.spec) as RunSpec,
    metrics: { steps: metrics.steps ?? [], evals: metrics.evals ?? [] },
  };
}
