// Command-line flags. Every setting of the schema is a flag named by its path
// (`--model.rosa.bits 8`, `--train.steps 100`, `--task.seqLen 128`); a few common ones have
// short names. Values are checked with the setting's own schema, so a bad flag is reported
// as `--path <message>` with the same limit the form and presets show.

import type { CpuOptions, GpuOptions, ModelOverrides, TrainConfig } from '../src/config/schema.ts';
import type { FieldError } from '../src/config/validate.ts';
import { type SettingLeaf, settingLeaves } from '../src/config/walk.ts';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Short names of settings people type most. */
export const FLAG_ALIASES: Record<string, string> = {
  steps: 'train.steps',
  seed: 'train.seed',
  batch: 'train.batchSize',
  window: 'model.window',
  bits: 'model.rosa.bits',
  repeats: 'train.repeats',
};

export interface ParsedArgs {
  /** Flags that are not settings (`--preset`, `--out`, …), as given. */
  options: Map<string, string>;
  /** Settings by path, parsed and checked one by one. */
  settings: Map<string, unknown>;
  errors: FieldError[];
}

function settingValue(leaf: SettingLeaf, raw: string): unknown {
  const kind = leaf.meta.kind;
  if (kind === 'int' || kind === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (kind === 'boolean')
    return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
  if (kind === 'int-list')
    return raw
      .split(',')
      .filter((s) => s.trim() !== '')
      .map(Number);
  return raw;
}

export function parseArgs(argv: readonly string[], knownOptions: readonly string[]): ParsedArgs {
  const leaves = new Map<string, SettingLeaf[]>();
  for (const leaf of settingLeaves()) {
    const path = leaf.path.replace(/#.*$/, '');
    leaves.set(path, [...(leaves.get(path) ?? []), leaf]);
  }
  const options = new Map<string, string>();
  const settings = new Map<string, unknown>();
  const errors: FieldError[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}" (flags start with --)`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (knownOptions.includes(name)) {
      options.set(name, value);
      continue;
    }
    const path = FLAG_ALIASES[name] ?? name;
    const declared = leaves.get(path);
    if (!declared) {
      throw new UsageError(
        `unknown flag --${name}; settings are flags by path (e.g. --train.steps, --model.rosa.bits; ` +
          `aliases: ${Object.keys(FLAG_ALIASES).join(', ')}), other flags: ${knownOptions.map((o) => `--${o}`).join(', ')}`,
      );
    }
    const leaf = declared[0];
    const given = settingValue(leaf, value);
    // Declared differently per task kind: the preset's task decides, when the runs are checked.
    if (declared.length > 1) {
      settings.set(path, given);
      continue;
    }
    const parsed = leaf.schema.safeParse(given);
    if (parsed.success) settings.set(path, parsed.data);
    else errors.push({ field: `--${name}`, message: parsed.error.issues[0]?.message ?? 'is not valid' });
  }
  return { options, settings, errors };
}

/** Settings as a patch of task, model and train fields (applied to every variant). */
export function settingsPatch(settings: Map<string, unknown>): {
  task: Record<string, unknown>;
  model: ModelOverrides;
  train: Partial<TrainConfig>;
  gpu: Partial<GpuOptions>;
  cpu: Partial<CpuOptions>;
  backend?: string;
} {
  const patch = { task: {}, model: {}, train: {}, gpu: {}, cpu: {} } as Record<
    string,
    Record<string, unknown>
  >;
  let backend: string | undefined;
  for (const [path, value] of settings) {
    if (path === 'backend') {
      backend = value as string;
      continue;
    }
    const [section, ...rest] = path.split('.');
    let target = patch[section];
    for (const key of rest.slice(0, -1)) {
      target[key] ??= {};
      target = target[key] as Record<string, unknown>;
    }
    target[rest.at(-1)!] = value;
  }
  return {
    ...(patch as {
      task: Record<string, unknown>;
      model: ModelOverrides;
      train: Partial<TrainConfig>;
      gpu: Partial<GpuOptions>;
      cpu: Partial<CpuOptions>;
    }),
    backend,
  };
}
