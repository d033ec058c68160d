// Walks the settings schema: every leaf with its dotted path and metadata (for the CLI's
// flags, the form's hints, the schema test), and the defaults it declares.

import * as z from 'zod/mini';
import { type FieldMeta, metaOf } from './fields.ts';
import {
  backendSchema,
  cpuSchema,
  gpuSchema,
  lrsaSchema,
  modelSchema,
  rosaSchema,
  TASK_KINDS,
  TASK_SCHEMAS,
  type TaskKind,
  type TaskSpec,
  trainSchema,
} from './schema.ts';

export interface SettingLeaf {
  /** Dotted path in a run spec: "model.rosa.bits", "train.steps", "task.keyLength". */
  path: string;
  schema: z.ZodMiniType;
  meta: FieldMeta;
  /** Task fields exist only for these task kinds. */
  taskKinds?: TaskKind[];
}

function objectLeaves(schema: z.ZodMiniObject, prefix: string): SettingLeaf[] {
  const out: SettingLeaf[] = [];
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodMiniType>)) {
    const path = `${prefix}${key}`;
    const inner = field instanceof z.ZodMiniOptional ? (field.def.innerType as z.ZodMiniType) : field;
    if (inner instanceof z.ZodMiniObject) out.push(...objectLeaves(inner, `${path}.`));
    else {
      const meta = metaOf(field);
      if (meta) out.push({ path, schema: field, meta });
    }
  }
  return out;
}

let cache: SettingLeaf[] | null = null;

/** Every setting of a run spec, task fields merged over the task kinds that have them. */
export function settingLeaves(): SettingLeaf[] {
  if (cache) return cache;
  const task = new Map<string, SettingLeaf>();
  for (const kind of TASK_KINDS) {
    for (const leaf of objectLeaves(TASK_SCHEMAS[kind], 'task.')) {
      const seen = task.get(leaf.path);
      // The same path may be two declarations (MQAR's and induction's vocabulary).
      if (seen && seen.schema === leaf.schema) seen.taskKinds!.push(kind);
      else task.set(seen ? `${leaf.path}#${kind}` : leaf.path, { ...leaf, taskKinds: [kind] });
    }
  }
  cache = [
    ...task.values(),
    ...objectLeaves(modelSchema, 'model.'),
    ...objectLeaves(trainSchema, 'train.'),
    { path: 'backend', schema: backendSchema, meta: metaOf(backendSchema)! },
    ...objectLeaves(gpuSchema, 'gpu.'),
    ...objectLeaves(cpuSchema, 'cpu.'),
  ];
  return cache;
}

/** The leaf at a path, for the task kind given (task paths differ by kind). */
export function leafAt(path: string, taskKind?: TaskKind): SettingLeaf | undefined {
  const named = settingLeaves().filter((l) => l.path.replace(/#.*$/, '') === path);
  return named.find((l) => !l.taskKinds || !taskKind || l.taskKinds.includes(taskKind)) ?? named[0];
}

/** Metadata of a setting, by path. */
export function settingMeta(path: string, taskKind?: TaskKind): FieldMeta {
  const leaf = leafAt(path, taskKind);
  if (!leaf) throw new Error(`no setting "${path}"`);
  return leaf.meta;
}

/** The defaults an object schema declares (optional fields without a default stay absent). */
export function defaultsOf(schema: z.ZodMiniObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodMiniType>)) {
    if (field instanceof z.ZodMiniOptional) continue;
    if (field instanceof z.ZodMiniObject) out[key] = defaultsOf(field);
    else if (field instanceof z.ZodMiniLiteral) out[key] = field.def.values[0];
    else {
      const meta = metaOf(field);
      if (meta) out[key] = structuredClone(meta.default);
    }
  }
  return out;
}

export const DEFAULT_ROSA = defaultsOf(rosaSchema) as z.infer<typeof rosaSchema>;
export const DEFAULT_LRSA = defaultsOf(lrsaSchema) as z.infer<typeof lrsaSchema>;

export function defaultTask<K extends TaskKind>(kind: K): Extract<TaskSpec, { kind: K }> {
  return defaultsOf(TASK_SCHEMAS[kind]) as Extract<TaskSpec, { kind: K }>;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** `value` with every missing key of `defaults` filled in (nested objects too); other values kept as they are. */
export function fillMissing(value: unknown, defaults: Record<string, unknown>): unknown {
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [key, def] of Object.entries(defaults)) {
    if (out[key] === undefined) out[key] = structuredClone(def);
    else if (isRecord(def)) out[key] = fillMissing(out[key], def);
  }
  return out;
}

/**
 * A stored or hand-written run spec with the settings it predates filled from the schema's
 * defaults (a manifest saved before a setting existed still loads); values present are kept
 * for validation to judge.
 */
export function withRunDefaults(spec: unknown): unknown {
  if (!isRecord(spec)) return spec;
  // `fromCheckpoint` was declared but never read before `from` replaced it.
  const { fromCheckpoint: _never, ...current } = spec;
  const kind = isRecord(current.task) ? current.task.kind : undefined;
  const taskDefaults = TASK_KINDS.includes(kind as TaskKind) ? defaultTask(kind as TaskKind) : {};
  return fillMissing(current, {
    task: taskDefaults,
    model: defaultsOf(modelSchema),
    train: defaultsOf(trainSchema),
    backend: metaOf(backendSchema)!.default,
  });
}
