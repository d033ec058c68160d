// A checkpoint is two files: the weights (and AdamW moments) as safetensors, and a JSON
// manifest with the run spec, the step, the optimizer settings and the metrics so far.
// Loading validates both against each other and against the model the spec describes,
// and throws CheckpointError with the first thing that is wrong.

import { type FieldError, validateModelConfig } from '../model/config.ts';
import { parameterSpecs } from '../model/params.ts';
import type { EvalMetrics, RunSpec, StepMetrics } from '../train/protocol.ts';
import { validateTaskSpec, validateTrainConfig } from '../train/train-config.ts';
import { assertFinite, NonFiniteCheckpointError } from './finite.ts';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.ts';

export { CheckpointError, NonFiniteCheckpointError };

export const CHECKPOINT_FORMAT = 'rosa-playground-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  spec: RunSpec;
  step: number;
  savedAt: string;
  metrics: { steps: StepMetrics[]; evals: EvalMetrics[] };
}

export interface CheckpointContents {
  manifest: CheckpointManifest;
  parameters: Map<string, Float32Array>;
  /** AdamW moments per parameter; absent in weight-only files. */
  optimizer: Map<string, { m: Float32Array; v: Float32Array }> | null;
}

const M_PREFIX = 'optim.m.';
const V_PREFIX = 'optim.v.';

/** Encodes both files; throws NonFiniteCheckpointError (and writes nothing) on NaN or ±∞. */
export function encodeCheckpoint(contents: CheckpointContents): { weights: Uint8Array; manifest: string } {
  const step = contents.manifest.step;
  assertFinite(contents.parameters, step);
  if (contents.optimizer) {
    for (const [name, { m, v }] of contents.optimizer) {
      assertFinite(
        [
          [M_PREFIX + name, m],
          [V_PREFIX + name, v],
        ],
        step,
      );
    }
  }
  const tensors: Record<string, NamedTensor> = {};
  const shapes = new Map(parameterSpecs(contents.manifest.spec.model).map((s) => [s.name, s.shape]));
  for (const [name, data] of contents.parameters) {
    const shape = shapes.get(name) ?? [data.length];
    tensors[name] = { dtype: 'F32', shape, data };
    const opt = contents.optimizer?.get(name);
    if (opt) {
      tensors[M_PREFIX + name] = { dtype: 'F32', shape, data: opt.m };
      tensors[V_PREFIX + name] = { dtype: 'F32', shape, data: opt.v };
    }
  }
  const weights = encodeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    step: String(contents.manifest.step),
    run: contents.manifest.spec.id,
  });
  return { weights, manifest: JSON.stringify(contents.manifest) };
}

function describe(errors: FieldError[]): string {
  return errors.map((e) => `${e.field} ${e.message}`).join('; ');
}

export function parseManifest(text: string, fileName = 'manifest'): CheckpointManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${fileName}: not valid JSON (${(err as Error).message})`);
  }
  const m = json as Partial<CheckpointManifest> | null;
  if (!m || typeof m !== 'object' || m.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `${fileName}: not a ROSA Playground checkpoint manifest (format "${String(m?.format)}")`,
    );
  }
  if (m.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `${fileName}: version ${String(m.version)} is not supported (this build reads ${CHECKPOINT_VERSION})`,
    );
  }
  if (!m.spec || typeof m.spec !== 'object' || !m.spec.model || !m.spec.train || !m.spec.task) {
    throw new CheckpointError(`${fileName}: the run spec (model, train, task) is missing`);
  }
  if (!Number.isInteger(m.step) || (m.step as number) < 0)
    throw new CheckpointError(`${fileName}: step must be a whole number ≥ 0`);
  const errors = [
    ...validateModelConfig(m.spec.model),
    ...validateTrainConfig(m.spec.train),
    ...validateTaskSpec(m.spec.task),
  ];
  if (errors.length > 0) throw new CheckpointError(`${fileName}: invalid configuration: ${describe(errors)}`);
  return {
    ...(m as CheckpointManifest),
    metrics: {
      steps: Array.isArray(m.metrics?.steps) ? m.metrics.steps : [],
      evals: Array.isArray(m.metrics?.evals) ? m.metrics.evals : [],
    },
  };
}

/** Decodes and cross-checks both files of a checkpoint. */
export function decodeCheckpoint(
  weights: Uint8Array,
  manifestText: string,
  names: { weights?: string; manifest?: string } = {},
): CheckpointContents {
  const manifest = parseManifest(manifestText, names.manifest ?? 'manifest.json');
  const weightsName = names.weights ?? 'weights.safetensors';
  const { tensors, metadata } = decodeSafetensors(weights, weightsName);
  if (metadata.format !== undefined && metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${weightsName}: written by "${metadata.format}", not by ROSA Playground`);
  }
  if (metadata.run !== undefined && metadata.run !== manifest.spec.id) {
    throw new CheckpointError(
      `${weightsName} belongs to run "${metadata.run}" but the manifest describes run "${manifest.spec.id}": upload matching files`,
    );
  }
  const parameters = new Map<string, Float32Array>();
  const optimizer = new Map<string, { m: Float32Array; v: Float32Array }>();
  let hasOptimizer = true;
  for (const spec of parameterSpecs(manifest.spec.model)) {
    const t = tensors[spec.name];
    if (!t)
      throw new CheckpointError(
        `${weightsName}: tensor "${spec.name}" is missing for this model configuration`,
      );
    if (t.dtype !== 'F32' || t.shape.join('x') !== spec.shape.join('x')) {
      throw new CheckpointError(
        `${weightsName}: tensor "${spec.name}" has shape [${t.shape}] (${t.dtype}); the configuration needs [${spec.shape}] (F32)`,
      );
    }
    for (const x of t.data) {
      if (!Number.isFinite(x))
        throw new CheckpointError(`${weightsName}: tensor "${spec.name}" contains NaN or infinite values`);
    }
    parameters.set(spec.name, t.data as Float32Array);
    const m = tensors[M_PREFIX + spec.name];
    const v = tensors[V_PREFIX + spec.name];
    if (m && v && m.data.length === t.data.length && v.data.length === t.data.length) {
      optimizer.set(spec.name, { m: m.data as Float32Array, v: v.data as Float32Array });
    } else hasOptimizer = false;
  }
  return { manifest, parameters, optimizer: hasOptimizer ? optimizer : null };
}
