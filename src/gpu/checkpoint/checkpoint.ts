// A checkpoint is two files: the weights (and AdamW moments) as safetensors, and a JSON
// manifest with the run spec, the step, the optimizer settings and the metrics so far.
// Loading validates both against each other and against the model the spec describes,
// and throws CheckpointError with the first thing that is wrong.

import { parameterSpecs } from '../model/params.ts';
import { configHash } from './config-hash.ts';
import { assertFinite, firstNonFinite, NonFiniteCheckpointError } from './finite.ts';
import { CHECKPOINT_FORMAT, type CheckpointManifest, parseManifest } from './manifest.ts';
import { boundHistory } from './metrics-history.ts';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.ts';

export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointManifest,
  parseManifest,
  validateManifestConfig,
} from './manifest.ts';
export { CheckpointError, NonFiniteCheckpointError };

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
  const { manifest } = contents;
  assertFinite(contents.parameters, manifest.step);
  if (contents.optimizer) {
    for (const [name, { m, v }] of contents.optimizer) {
      assertFinite(
        [
          [M_PREFIX + name, m],
          [V_PREFIX + name, v],
        ],
        manifest.step,
      );
    }
  }
  const tensors: Record<string, NamedTensor> = {};
  const shapes = new Map(parameterSpecs(manifest.spec.model).map((s) => [s.name, s.shape]));
  for (const [name, data] of contents.parameters) {
    const shape = shapes.get(name) ?? [data.length];
    tensors[name] = { dtype: 'F32', shape, data };
    const opt = contents.optimizer?.get(name);
    if (opt) {
      tensors[M_PREFIX + name] = { dtype: 'F32', shape, data: opt.m };
      tensors[V_PREFIX + name] = { dtype: 'F32', shape, data: opt.v };
    }
  }
  // Step and configuration fingerprint: the loader matches them against the manifest.
  const weights = encodeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    step: String(manifest.step),
    run: manifest.spec.id,
    config: configHash(manifest.spec.model),
  });
  const metrics = {
    steps: boundHistory(manifest.metrics.steps),
    evals: boundHistory(manifest.metrics.evals),
  };
  return { weights, manifest: JSON.stringify({ ...manifest, metrics }) };
}

/** The weights file's metadata must describe the manifest's run, step and configuration. */
/** After the shapes matched: the fingerprint catches configurations with equal shapes. */
function checkConfigHash(
  metadata: Record<string, string>,
  manifest: CheckpointManifest,
  weightsName: string,
) {
  // Files saved before the fingerprint existed have none; their shapes were still checked.
  if (metadata.config !== undefined && metadata.config !== configHash(manifest.spec.model)) {
    throw new CheckpointError(
      `${weightsName} was saved with another model configuration than the manifest describes (window, ROSA settings or variant differ): upload matching files`,
    );
  }
}

function checkMetadata(metadata: Record<string, string>, manifest: CheckpointManifest, weightsName: string) {
  if (metadata.format !== undefined && metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${weightsName}: written by "${metadata.format}", not by ROSA Playground`);
  }
  if (metadata.run !== undefined && metadata.run !== manifest.spec.id) {
    throw new CheckpointError(
      `${weightsName} belongs to run "${metadata.run}" but the manifest describes run "${manifest.spec.id}": upload matching files`,
    );
  }
  if (metadata.step !== undefined && metadata.step !== String(manifest.step)) {
    throw new CheckpointError(
      `${weightsName} holds the weights of step ${metadata.step} but the manifest is of step ${manifest.step}: upload matching files`,
    );
  }
}

/** One F32 tensor of the expected shape, finite; `nonNegative` for AdamW's second moment. */
function checkedTensor(
  t: NamedTensor,
  name: string,
  shape: number[],
  weightsName: string,
  nonNegative = false,
): Float32Array {
  if (t.dtype !== 'F32' || t.shape.join('x') !== shape.join('x')) {
    throw new CheckpointError(
      `${weightsName}: tensor "${name}" has shape [${t.shape}] (${t.dtype}); the configuration needs [${shape}] (F32)`,
    );
  }
  const data = t.data as Float32Array;
  if (firstNonFinite(data) >= 0)
    throw new CheckpointError(`${weightsName}: tensor "${name}" contains NaN or infinite values`);
  if (nonNegative && data.some((x) => x < 0)) {
    throw new CheckpointError(
      `${weightsName}: tensor "${name}" has negative values; AdamW second moments are never negative`,
    );
  }
  return data;
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
  checkMetadata(metadata, manifest, weightsName);
  const parameters = new Map<string, Float32Array>();
  const optimizer = new Map<string, { m: Float32Array; v: Float32Array }>();
  const withMoments: string[] = [];
  const withoutMoments: string[] = [];
  const expected = new Set<string>();
  for (const spec of parameterSpecs(manifest.spec.model)) {
    expected
      .add(spec.name)
      .add(M_PREFIX + spec.name)
      .add(V_PREFIX + spec.name);
    const t = tensors[spec.name];
    if (!t)
      throw new CheckpointError(
        `${weightsName}: tensor "${spec.name}" is missing for this model configuration`,
      );
    parameters.set(spec.name, checkedTensor(t, spec.name, spec.shape, weightsName));
    const m = tensors[M_PREFIX + spec.name];
    const v = tensors[V_PREFIX + spec.name];
    if (!m && !v) {
      withoutMoments.push(spec.name);
      continue;
    }
    if (!m || !v) {
      throw new CheckpointError(
        `${weightsName}: parameter "${spec.name}" has only one of its two AdamW moments (${m ? M_PREFIX : V_PREFIX}${spec.name})`,
      );
    }
    withMoments.push(spec.name);
    optimizer.set(spec.name, {
      m: checkedTensor(m, M_PREFIX + spec.name, spec.shape, weightsName),
      v: checkedTensor(v, V_PREFIX + spec.name, spec.shape, weightsName, true),
    });
  }
  if (withMoments.length > 0 && withoutMoments.length > 0) {
    throw new CheckpointError(
      `${weightsName}: partial optimizer state: AdamW moments for ${withMoments.length} parameters but none for "${withoutMoments[0]}"${withoutMoments.length > 1 ? ` and ${withoutMoments.length - 1} more` : ''}`,
    );
  }
  checkConfigHash(metadata, manifest, weightsName);
  const unknown = Object.keys(tensors).find((name) => !expected.has(name));
  if (unknown !== undefined) {
    throw new CheckpointError(`${weightsName}: tensor "${unknown}" is not part of this model configuration`);
  }
  return { manifest, parameters, optimizer: withMoments.length > 0 ? optimizer : null };
}
