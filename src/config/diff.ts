// Which settings differ between runs: every leaf of the settings schema, compared by value,
// labelled as the form labels it. Settings that do not apply to a run (ROSA bits of a windowed
// run, the window of a global one) show as "n/a" and count as no difference by themselves.

import type { FieldMeta } from './fields.ts';
import { type RunSpec, variantHasLrsa, variantHasRosa } from './schema.ts';
import { leafAt, settingLeaves } from './walk.ts';

export interface SettingDiff {
  /** Dotted path: "model.window", "train.seed". */
  path: string;
  label: string;
  /** One value per run, as shown. */
  values: string[];
}

export const NOT_APPLICABLE = 'n/a';

function valueAt(spec: RunSpec, path: string): unknown {
  let v: unknown = spec;
  for (const key of path.split('.')) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function applies(meta: FieldMeta, spec: RunSpec): boolean {
  const variant = spec.model.variant;
  switch (meta.applies) {
    case 'always':
      return true;
    case 'rosa':
      return variantHasRosa(variant);
    case 'lrsa':
      return variantHasLrsa(variant);
    case 'window':
      return variant !== 'global';
    case 'two-stage':
      return spec.train.protocol === 'two-stage';
  }
}

/** A setting's value as the diff shows it. */
export function shownSetting(value: unknown, meta?: FieldMeta): string {
  if (value === undefined || value === null) return '—';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(', ');
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'string' && meta?.kind === 'text') {
    return value.length > 40 ? `${value.slice(0, 40)}… (${value.length} characters)` : value;
  }
  return String(value);
}

/** The settings whose shown values are not all the same across `specs`, in schema order. */
export function settingsDiff(specs: readonly RunSpec[]): SettingDiff[] {
  if (specs.length < 2) return [];
  const out: SettingDiff[] = [];
  const kinds = specs.map((s) => s.task.kind);
  if (new Set(kinds).size > 1) out.push({ path: 'task.kind', label: 'Task', values: kinds });
  // The model's sequence length is the task's; one row for it is enough.
  const paths = [...new Set(settingLeaves().map((l) => l.path.replace(/#.*$/, '')))].filter(
    (p) => p !== 'model.seqLen',
  );
  for (const path of paths) {
    const values = specs.map((spec) => {
      const leaf = leafAt(path, spec.task.kind);
      // A task field of another task kind, or a setting this variant does not use.
      if (!leaf || (leaf.taskKinds && !leaf.taskKinds.includes(spec.task.kind))) return NOT_APPLICABLE;
      if (!applies(leaf.meta, spec)) return NOT_APPLICABLE;
      // The gpu and cpu sections are optional: absent means their defaults.
      const machine = path.startsWith('gpu.') || path.startsWith('cpu.');
      const value = valueAt(spec, path) ?? (machine ? leaf.meta.default : undefined);
      return shownSetting(value, leaf.meta);
    });
    const used = values.filter((v) => v !== NOT_APPLICABLE);
    if (new Set(used).size > 1) {
      out.push({ path, label: leafAt(path, specs[0].task.kind)!.meta.label, values });
    }
  }
  return out;
}
