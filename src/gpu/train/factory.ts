// Turns a RunSpec into a ready TrainingRun on the backend it names: validates every field
// (against the device's limits on WebGPU), builds the task, the model and its backend,
// and restores a checkpoint's weights and optimizer state when one is given.

import type { CheckpointContents } from '../checkpoint/checkpoint.ts';
import type { CheckpointStore } from '../checkpoint/store.ts';
import type { GpuContext } from '../context.ts';
import type { RosaScanner, Sized } from '../model/backend.ts';
import { type FieldError, validateModelConfig } from '../model/config.ts';
import { CpuBackend } from '../model/cpu-backend.ts';
import { GpuBackend } from '../model/gpu-backend.ts';
import { Model } from '../model/model.ts';
import { initialParameters } from '../model/params.ts';
import type { RunSpec, TrainerEvent } from './protocol.ts';
import { TrainingRun } from './run.ts';
import { buildTask, type CorpusLoader } from './tasks.ts';
import { validateTaskSpec, validateTrainConfig } from './train-config.ts';

export class ConfigError extends Error {
  readonly fields: FieldError[];
  constructor(fields: FieldError[]) {
    super(`Invalid configuration: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`);
    this.name = 'ConfigError';
    this.fields = fields;
  }
}

export interface EngineEnv {
  /** The WebGPU device; null where only the CPU backend is available. */
  gpu: GpuContext | null;
  scanner: RosaScanner;
  loadCorpus: CorpusLoader;
  store: CheckpointStore | null;
}

export type AnyRun = TrainingRun<Sized, Sized>;

/** Checks a spec without building anything; returns every problem found. */
export function validateRunSpec(spec: RunSpec, env: Pick<EngineEnv, 'gpu'>): FieldError[] {
  const errors = [...validateTaskSpec(spec.task), ...validateTrainConfig(spec.train)];
  const limits = spec.backend === 'webgpu' && env.gpu ? env.gpu.limits : undefined;
  errors.push(...validateModelConfig(spec.model, spec.train.batchSize, limits));
  if (spec.backend === 'webgpu' && !env.gpu) {
    errors.push({ field: 'backend', message: 'WebGPU is not available here; choose the CPU backend' });
  }
  if (spec.model.seqLen < spec.task.seqLen) {
    errors.push({
      field: 'task.seqLen',
      message: `must be ≤ the model's sequence length ${spec.model.seqLen}`,
    });
  }
  return errors;
}

export async function createRun(
  spec: RunSpec,
  env: EngineEnv,
  emit: (event: TrainerEvent) => void,
  from?: CheckpointContents,
): Promise<AnyRun> {
  const task = await buildTask(spec.task, spec.train.seed, env.loadCorpus);
  // The vocabulary comes from the task; the model is sized to it.
  const normalized: RunSpec = { ...spec, model: { ...spec.model, vocabSize: task.vocab.size } };
  const errors = validateRunSpec(normalized, env);
  if (errors.length > 0) throw new ConfigError(errors);
  const backend = normalized.backend === 'webgpu' ? new GpuBackend(env.gpu!) : new CpuBackend();
  const params = from ? from.parameters : initialParameters(normalized.model, normalized.train.seed);
  const model = new Model<Sized, Sized>(backend, normalized.model, params);
  if (from?.optimizer) model.importOptimizerState(from.optimizer);
  const run = new TrainingRun<Sized, Sized>(
    normalized,
    model,
    task,
    { scanner: env.scanner, store: env.store, emit },
    from?.manifest.step ?? 0,
  );
  if (from) {
    // A loop, not push(...rows): spreading a long history overflows the stack.
    for (const m of from.manifest.metrics.steps) run.steps.push(m);
    for (const m of from.manifest.metrics.evals) run.evals.push(m);
  }
  return run;
}
