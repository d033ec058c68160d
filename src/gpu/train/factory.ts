// Turns a RunSpec into a ready TrainingRun on the backend it names: validates every field
// (against the device's limits on WebGPU), builds the task, the model and its backend, and
// starts it from a checkpoint when one is given: resumed (same run: weights, optimizer state,
// metrics) or transplanted (another run's base weights under this run's variant).

import { ConfigError, type FieldError, validateRunSpec } from '../../config/validate.ts';
import { type HfTokenizer, parseTokenizer } from '../../interop/tokenizer.ts';
import type { BaseVocabulary } from '../../tasks/base-vocab.ts';
import { TaskConfigError } from '../../tasks/types.ts';
import type { CheckpointContents } from '../checkpoint/checkpoint.ts';
import type { CheckpointStore } from '../checkpoint/store.ts';
import type { GpuContext } from '../context.ts';
import type { RosaScanner, Sized } from '../model/backend.ts';
import { CpuBackend } from '../model/cpu-backend.ts';
import { GpuBackend } from '../model/gpu-backend.ts';
import { Model } from '../model/model.ts';
import { EMBEDDING, initialParameters } from '../model/params.ts';
import { transplantParameters } from '../model/transplant.ts';
import type { RunSpec, TrainerEvent } from './protocol.ts';
import { TrainingRun } from './run.ts';
import { buildTask, type CorpusLoader } from './tasks.ts';

export { ConfigError };

export interface EngineEnv {
  /** The WebGPU device; null where only the CPU backend is available. */
  gpu: GpuContext | null;
  scanner: RosaScanner;
  loadCorpus: CorpusLoader;
  store: CheckpointStore | null;
  /** The host's memory in bytes for the CPU backend's memory check (Node: os.totalmem()). */
  hostMemory?: number;
}

export type AnyRun = TrainingRun<Sized, Sized>;

/** Checks a spec without building anything; returns every problem found. */
export function checkSpecFor(spec: RunSpec, env: Pick<EngineEnv, 'gpu' | 'hostMemory'>): FieldError[] {
  return validateRunSpec(spec, {
    limits: env.gpu?.limits,
    hostMemory: env.hostMemory,
    webgpuUnavailable: env.gpu ? null : 'no WebGPU device in this process',
  });
}

/**
 * How a run starts from a checkpoint: its own (resume) or another run's base weights; with
 * `vocabulary` (a pretrained model's), the task speaks that vocabulary and the model keeps its size.
 */
export type StartFrom =
  | { resume: CheckpointContents }
  | {
      transplant: ReadonlyMap<string, Float32Array>;
      vocabulary?: BaseVocabulary;
      /** The starting checkpoint's tokenizer.json (manifest.tokenizer): a base model's tokens. */
      tokenizer?: string;
    };

/**
 * The vocabulary the starting weights fix: a resumed run keeps its model's, transplanted weights
 * bring their embedding's rows (a pretrained base imported into the store), unless given; with
 * the checkpoint's tokenizer when it has one.
 */
function startingVocabulary(spec: RunSpec, from: StartFrom | undefined): BaseVocabulary | undefined {
  if (!from) return undefined;
  if ('resume' in from)
    return withTokenizer({ size: from.resume.manifest.spec.model.vocabSize }, from.resume.manifest.tokenizer);
  if (from.vocabulary) return from.vocabulary;
  const rows = (from.transplant.get(EMBEDDING)?.length ?? 0) / spec.model.width;
  return Number.isInteger(rows) && rows > 0 ? withTokenizer({ size: rows }, from.tokenizer) : undefined;
}

function withTokenizer(base: BaseVocabulary, json: string | undefined): BaseVocabulary {
  if (json === undefined) return base;
  let tokenizer: HfTokenizer;
  try {
    tokenizer = parseTokenizer(json);
  } catch (err) {
    throw new ConfigError([{ field: 'from', message: `the checkpoint's ${(err as Error).message}` }]);
  }
  return { ...base, tokenizer, decode: (id) => tokenizer.tokenText(id) };
}

/** The tokenizer.json a run's checkpoints carry on: the one it started from. */
function startingTokenizer(from: StartFrom | undefined): string | null {
  if (!from) return null;
  return ('resume' in from ? from.resume.manifest.tokenizer : from.tokenizer) ?? null;
}

export async function createRun(
  spec: RunSpec,
  env: EngineEnv,
  emit: (event: TrainerEvent) => void,
  from?: StartFrom,
): Promise<AnyRun> {
  const before = checkSpecFor(spec, env);
  if (before.length > 0) throw new ConfigError(before);
  let task: Awaited<ReturnType<typeof buildTask>>;
  try {
    task = await buildTask(spec.task, spec.train.seed, env.loadCorpus, startingVocabulary(spec, from));
  } catch (err) {
    if (err instanceof TaskConfigError) {
      throw new ConfigError([{ field: `task.${err.field}`, message: err.message }]);
    }
    throw err;
  }
  // The vocabulary comes from the task; the model is sized to it (and checked again at that size).
  const normalized: RunSpec = { ...spec, model: { ...spec.model, vocabSize: task.vocab.size } };
  const errors = checkSpecFor(normalized, env);
  if (errors.length > 0) throw new ConfigError(errors);
  const backend =
    normalized.backend === 'webgpu'
      ? new GpuBackend(env.gpu!, normalized.gpu)
      : new CpuBackend({ threads: normalized.cpu?.threads });
  if (backend instanceof CpuBackend) {
    try {
      await backend.ready();
    } catch (err) {
      backend.dispose();
      throw err;
    }
  }
  const resume = from && 'resume' in from ? from.resume : undefined;
  const transplant = from && 'transplant' in from ? from.transplant : undefined;
  const params = resume
    ? resume.parameters
    : transplant
      ? transplantParameters(transplant, normalized.model, normalized.train.seed)
      : initialParameters(normalized.model, normalized.train.seed);
  const model = new Model<Sized, Sized>(backend, normalized.model, params);
  if (resume?.optimizer) model.importOptimizerState(resume.optimizer);
  const run = new TrainingRun<Sized, Sized>(
    normalized,
    model,
    task,
    { scanner: env.scanner, store: env.store, emit },
    resume?.manifest.step ?? 0,
  );
  run.baseTokenizer = startingTokenizer(from);
  if (resume) {
    // A loop, not push(...rows): spreading a long history overflows the stack.
    for (const s of resume.manifest.metrics.steps) run.steps.push(s);
    for (const e of resume.manifest.metrics.evals) run.evals.push(e);
  }
  return run;
}
