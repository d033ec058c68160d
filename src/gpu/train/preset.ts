// Experiment presets: small plain files (presets/*.json) naming a task, a base model, the
// variants to compare on the same data and seed, the training settings and the final
// evaluation. The same format drives the CLI and the UI.

import { defaultModelConfig, type ModelConfig, type Variant } from '../model/config.ts';
import type { RunSpec, TaskSpec, TrainConfig } from './protocol.ts';
import { defaultTrainConfig } from './train-config.ts';

export interface PresetVariant {
  /** Shown in legends and file names. */
  name: string;
  variant: Variant;
  /** Model fields that differ from the preset's base model for this variant. */
  model?: Partial<ModelConfig>;
  train?: Partial<TrainConfig>;
}

export interface ExperimentPreset {
  name: string;
  description: string;
  task: TaskSpec;
  model: Partial<ModelConfig>;
  train: Partial<TrainConfig>;
  variants: PresetVariant[];
  evaluation?: {
    /** NIAH: exact-match accuracy with the needle this many tokens before the query. */
    niahDistances?: number[];
    niahSamples?: number;
    niahGrid?: { lengths: number[]; depths: number[]; samples: number };
  };
}

export function presetRunSpecs(
  preset: ExperimentPreset,
  backend: RunSpec['backend'],
  overrides: Partial<TrainConfig> = {},
): RunSpec[] {
  return preset.variants.map((v) => {
    const base = { ...preset.model, ...v.model };
    const model = defaultModelConfig({
      ...base,
      variant: v.variant,
      seqLen: base.seqLen ?? preset.task.seqLen,
    });
    return {
      id: `${preset.name}-${v.name}`.replace(/[^A-Za-z0-9_.-]/g, '_'),
      name: v.name,
      task: preset.task,
      model,
      train: clampToSteps(defaultTrainConfig({ ...preset.train, ...v.train, ...overrides })),
      backend,
    };
  });
}

/** Warm-ups and stage lengths cannot exceed the run (e.g. after `--steps` shortened it). */
function clampToSteps(t: TrainConfig): TrainConfig {
  const cap = (x: number | undefined) => (x === undefined ? x : Math.min(x, t.steps));
  return {
    ...t,
    warmupSteps: Math.min(t.warmupSteps, t.steps),
    lengthWarmup: cap(t.lengthWarmup),
    stageASteps: t.protocol === 'two-stage' ? Math.min(t.stageASteps, t.steps - 1) : t.stageASteps,
  };
}
