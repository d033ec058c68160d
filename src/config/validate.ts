// One way to check settings: the schema (types, limits, unknown keys) then the cross-field rules
// (rules.ts). Every problem is a FieldError naming the setting's dotted path and the limit;
// callers show it next to a form field, as `--path` on the command line or `preset.path` for a
// preset file. Settings that do not apply (ROSA fields of a global run) are not checked.

import type * as z from 'zod/mini';
import { runRules, type SizeLimits } from './rules.ts';
import { type RunSpec, runSpecSchema, type Variant, variantHasLrsa, variantHasRosa } from './schema.ts';
import { leafAt } from './walk.ts';

export interface FieldError {
  field: string;
  message: string;
}

/** Invalid settings: the message lists every field; `fields` has them one by one. */
export class ConfigError extends Error {
  readonly fields: FieldError[];
  constructor(fields: FieldError[], prefix = '') {
    super(`Invalid configuration: ${fields.map((f) => `${prefix}${f.field} ${f.message}`).join('; ')}`);
    this.name = 'ConfigError';
    this.fields = fields;
  }
}

/** Whether a setting matters for this run (its `applies` metadata against variant and protocol). */
export function applies(
  path: string,
  context: { variant?: unknown; protocol?: unknown; taskKind?: unknown },
): boolean {
  const leaf = leafAt(path, context.taskKind as never);
  switch (leaf?.meta.applies) {
    case 'rosa':
      return variantHasRosa(context.variant as Variant);
    case 'lrsa':
      return variantHasLrsa(context.variant as Variant);
    case 'window':
      return context.variant !== 'global';
    case 'two-stage':
      return context.protocol === 'two-stage';
    default:
      return true;
  }
}

/** zod issues as FieldErrors under `prefix`, unknown keys named one by one. */
export function issueErrors(issues: readonly z.core.$ZodIssue[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    // A list item's problem is the list's: "model.globalLayers", not "model.globalLayers.0".
    const keys = issue.path.map(String);
    while (keys.length > 0 && /^\d+$/.test(keys.at(-1)!)) keys.pop();
    const path = [prefix.replace(/\.$/, ''), ...keys].filter((p) => p !== '').join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: path ? `${path}.${key}` : key, message: 'is not a known setting' });
      }
    } else if (issue.code === 'invalid_union' && issue.path.at(-1) !== 'kind') {
      out.push({ field: `${path}.kind`, message: 'must be one of niah, mqar, text, induction' });
    } else {
      out.push({ field: path || '(root)', message: issue.message });
    }
  }
  return out;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

/** One part (task, model, train) of a spec that may hold anything; null when it is not an object. */
function part(spec: unknown, key: string): Record<string, unknown> | null {
  const value = isObject(spec) ? spec[key] : undefined;
  return isObject(value) ? value : null;
}

export interface RunCheckContext {
  /** Device limits on WebGPU (from GpuContext.limits); absent on the CPU backend or when unknown. */
  limits?: SizeLimits;
  /** Why WebGPU cannot be used here; null/absent when it can. */
  webgpuUnavailable?: string | null;
  /** The host's memory in bytes (Node: os.totalmem()); absent: navigator.deviceMemory or an assumption. */
  hostMemory?: number | null;
}

export interface RunCheck {
  errors: FieldError[];
  /** Allowed but worth saying (a window that covers the whole sequence, q/k that only self-match). */
  warnings: FieldError[];
  spec: RunSpec | null;
}

/** Checks a complete run spec; `spec` is the typed value when there are no errors. */
export function checkRunSpec(input: unknown, context: RunCheckContext = {}): RunCheck {
  const model = part(input, 'model');
  const train = part(input, 'train');
  const task = part(input, 'task');
  const relevance = { variant: model?.variant, protocol: train?.protocol, taskKind: task?.kind };
  const parsed = runSpecSchema.safeParse(input, { reportInput: true });
  const fieldErrors = parsed.success
    ? []
    : issueErrors(parsed.error.issues).filter((e) => applies(e.field, relevance));
  // The cross-field rules read only values of the right type, so they run either way (a form
  // shows every problem at once), as long as the spec has its three parts.
  const rules =
    parsed.success || (model && train && task)
      ? runRules((parsed.success ? parsed.data : input) as RunSpec, context)
      : { errors: [], warnings: [] };
  const failed = new Set(fieldErrors.map((e) => e.field));
  const errors = [...fieldErrors, ...rules.errors.filter((e) => !failed.has(e.field))];
  return {
    errors,
    warnings: rules.warnings,
    spec: errors.length === 0 ? ((parsed.success ? parsed.data : input) as RunSpec) : null,
  };
}

/** The errors of checkRunSpec alone. */
export function validateRunSpec(input: unknown, context: RunCheckContext = {}): FieldError[] {
  return checkRunSpec(input, context).errors;
}
