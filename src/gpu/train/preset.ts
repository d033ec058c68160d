// Experiment presets: small plain files (presets/*.json, checked by presets/schema.json) naming a
// task, a base model, the variants to compare on the same data and seed, the training settings
// and the final evaluation. A variant may start `from` an earlier variant's weights (or a
// checkpoint path) and may only be evaluated (`evalOnly`): ROSA-Tuning's retrofit protocol.
// The same format drives the CLI and the UI.

import {
  type CpuOptions,
  cpuSchema,
  type ExperimentPreset,
  type GpuOptions,
  gpuSchema,
  type ModelOverrides,
  type PresetVariant,
  presetSchema,
  type RunSpec,
  type TrainConfig,
} from '../../config/schema.ts';
import { ConfigError, checkRunSpec, type FieldError, issueErrors } from '../../config/validate.ts';
import { defaultsOf, defaultTask, fillMissing } from '../../config/walk.ts';
import { defaultModelConfig } from '../model/config.ts';
import { defaultTrainConfig } from './train-config.ts';

export type { ExperimentPreset, PresetVariant };

/** Where a preset run's starting weights come from. */
export type PresetSource = { variant: string } | { checkpoint: string };

export interface PresetRun {
  spec: RunSpec;
  from?: PresetSource;
  /** Evaluate the starting weights under this variant; no training. */
  evalOnly: boolean;
}

/** Settings given on the command line, applied to every variant. */
export interface PresetPatch {
  task?: Record<string, unknown>;
  model?: ModelOverrides;
  train?: Partial<TrainConfig>;
  /** WebGPU feature choices (gpu.subgroups); the defaults where absent. */
  gpu?: Partial<GpuOptions>;
  /** CPU backend choices (cpu.threads); the defaults where absent. */
  cpu?: Partial<CpuOptions>;
}

/** Reads a preset (parsed JSON); throws ConfigError with `preset.`-prefixed fields. */
export function parsePreset(json: unknown): ExperimentPreset {
  const parsed = presetSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) throw new ConfigError(issueErrors(parsed.error.issues, 'preset'));
  const preset = parsed.data;
  const errors = sourceErrors(preset.variants);
  if (errors.length > 0) throw new ConfigError(errors);
  return preset;
}

/** A checkpoint path rather than a variant name: it has a slash or a file extension. */
const looksLikePath = (from: string) => /[/\\]|\.json$|\.safetensors$/.test(from);

function sourceErrors(variants: PresetVariant[]): FieldError[] {
  const errors: FieldError[] = [];
  const index = new Map<string, number>();
  variants.forEach((v, i) => {
    if (index.has(v.name)) {
      errors.push({
        field: `preset.variants[${i}].name`,
        message: `"${v.name}" is used twice; names must differ`,
      });
    }
    index.set(v.name, index.get(v.name) ?? i);
  });
  variants.forEach((v, i) => {
    const field = `preset.variants[${i}]`;
    if (v.evalOnly && !v.from) {
      errors.push({
        field: `${field}.evalOnly`,
        message: 'needs "from": only trained weights can be evaluated',
      });
    }
    if (v.evalOnly && v.train) {
      const allowed = new Set(['evalBatches', 'seed', 'repeats']);
      const ignored = Object.keys(v.train).filter((k) => !allowed.has(k));
      if (ignored.length > 0) {
        errors.push({
          field: `${field}.train`,
          message: `${ignored.join(', ')} would have no effect: the variant is evaluated only`,
        });
      }
    }
    if (!v.from || looksLikePath(v.from)) return;
    const j = index.get(v.from);
    if (j === undefined) {
      errors.push({
        field: `${field}.from`,
        message: `names no variant of this preset ("${v.from}"); give an earlier variant's name or a checkpoint path`,
      });
    } else if (j === i) {
      errors.push({ field: `${field}.from`, message: 'names the variant itself (a cycle)' });
    } else if (j > i) {
      // Follow the chain: coming back to i is a cycle, otherwise it is only out of order.
      const seen = new Set([i]);
      let k: number | undefined = j;
      while (k !== undefined && !seen.has(k)) {
        seen.add(k);
        const next: string | undefined = variants[k].from;
        k = next && !looksLikePath(next) ? index.get(next) : undefined;
      }
      errors.push({
        field: `${field}.from`,
        message:
          k === i
            ? `"${v.from}" starts from this variant in turn: a cycle`
            : `"${v.from}" comes later in the list; a variant can only start from an earlier one`,
      });
    }
  });
  return errors;
}

/** Warm-ups and stage lengths cannot exceed the run (e.g. after `--steps` shortened it). */
function clampToSteps(t: TrainConfig): TrainConfig {
  return {
    ...t,
    warmupSteps: Math.min(t.warmupSteps, t.steps),
    lengthWarmup: Math.min(t.lengthWarmup, t.steps),
    stageASteps: t.protocol === 'two-stage' ? Math.min(t.stageASteps, t.steps - 1) : t.stageASteps,
  };
}

function mergeModel(...layers: Array<ModelOverrides | undefined>): ModelOverrides {
  const out: ModelOverrides = {};
  for (const m of layers) {
    if (!m) continue;
    Object.assign(out, m, {
      rosa: { ...out.rosa, ...m.rosa },
      lrsa: { ...out.lrsa, ...m.lrsa },
    });
  }
  return out;
}

/** The base weights of two models must have the same shapes for `from` to work. */
const SHAPE_FIELDS = ['layers', 'width', 'heads', 'mlpHidden'] as const;

/** One run per variant, validated: errors name `preset.…` paths and the variant. */
export function presetRuns(
  preset: ExperimentPreset,
  backend: RunSpec['backend'],
  patch: PresetPatch = {},
): PresetRun[] {
  const errors: FieldError[] = [];
  const runs: PresetRun[] = preset.variants.map((v, i) => {
    const model = mergeModel(preset.model, v.model, patch.model);
    const given = { ...preset.task, ...patch.task };
    const task = fillMissing(given, defaultTask(given.kind as RunSpec['task']['kind'])) as RunSpec['task'];
    const spec = {
      id: `${preset.name}-${v.name}`.replace(/[^A-Za-z0-9_.-]/g, '_'),
      name: v.name,
      task,
      model: defaultModelConfig({ ...model, variant: v.variant, seqLen: model.seqLen ?? task.seqLen }),
      train: clampToSteps(defaultTrainConfig({ ...preset.train, ...v.train, ...patch.train })),
      backend,
      ...(patch.gpu && Object.keys(patch.gpu).length > 0
        ? { gpu: { ...defaultsOf(gpuSchema), ...patch.gpu } }
        : {}),
      ...(patch.cpu && Object.keys(patch.cpu).length > 0
        ? { cpu: { ...defaultsOf(cpuSchema), ...patch.cpu } }
        : {}),
    } as RunSpec;
    const check = checkRunSpec(spec);
    for (const e of check.errors) {
      const [section, ...rest] = e.field.split('.');
      const own = section === 'model' ? v.model : section === 'train' ? v.train : undefined;
      const inVariant = own && rest.length > 0 && rest[0] in own;
      errors.push({
        field: inVariant ? `preset.variants[${i}].${e.field}` : `preset.${e.field}`,
        message: `${e.message} (variant "${v.name}")`,
      });
    }
    const from: PresetSource | undefined = v.from
      ? looksLikePath(v.from)
        ? { checkpoint: v.from }
        : { variant: v.from }
      : undefined;
    return { spec, from, evalOnly: v.evalOnly ?? false };
  });
  runs.forEach((run, i) => {
    if (!run.from || !('variant' in run.from)) return;
    const name = run.from.variant;
    const source = runs.find((r) => r.spec.name === name);
    if (!source) return;
    const differ = SHAPE_FIELDS.filter((f) => source.spec.model[f] !== run.spec.model[f]);
    if (differ.length > 0) {
      errors.push({
        field: `preset.variants[${i}].from`,
        message: `"${name}" has another base model (${differ.map((f) => `${f} ${source.spec.model[f]} vs ${run.spec.model[f]}`).join(', ')}); its weights cannot be copied`,
      });
    }
  });
  if (errors.length > 0) throw new ConfigError(errors);
  return runs;
}

/** Just the specs (the page's presets, tests). */
export function presetRunSpecs(
  preset: ExperimentPreset,
  backend: RunSpec['backend'],
  overrides: Partial<TrainConfig> = {},
): RunSpec[] {
  return presetRuns(preset, backend, { train: overrides }).map((r) => r.spec);
}
