// Field builders for the settings schema. Each builder declares a setting once: its zod type
// and limits, its default, label, help text and unit, and when it applies. The zod checks and
// the metadata come from the same arguments, so a message, a form hint, a CLI flag and the
// JSON schema of presets can never disagree about a limit.
// zod/mini (functions, not methods): the schema is on the page's first load, and the mini
// build leaves out the methods and JSON-schema code the page never calls.

import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';

// The messages of checks without an own message (preset names, lists), as the full zod gives them.
z.config(en());

/** Which variants a setting matters for (it is neither validated nor shown otherwise). */
export type Applies = 'always' | 'rosa' | 'lrsa' | 'window' | 'two-stage';

export type FieldKind = 'int' | 'number' | 'choice' | 'boolean' | 'int-list' | 'text';

export interface FieldMeta {
  kind: FieldKind;
  label: string;
  help: string;
  /** Shown after the value: "tokens", "steps", "× ROSA rate". */
  unit?: string;
  default: unknown;
  /** The ROSA-Tuning paper's choice, where it has one (the form marks it "(paper)"). */
  paper?: number | string | boolean;
  applies: Applies;
  min?: number;
  max?: number;
  /** The lower bound itself is not allowed (e.g. a temperature > 0). */
  openMin?: boolean;
  choices?: readonly string[];
  /** Label of each choice, for selects and help. */
  choiceLabels?: Readonly<Record<string, string>>;
}

/** Every leaf setting's metadata, looked up by its zod schema. */
export const settingsRegistry = z.registry<FieldMeta>();
/** The same, in JSON-schema words (title, description, default), for presets/schema.json. */
export const jsonSchemaRegistry = z.registry<Record<string, unknown>>();

type Common = { label: string; help: string; unit?: string; applies?: Applies };

function register<S extends z.ZodMiniType>(schema: S, meta: FieldMeta): S {
  settingsRegistry.add(schema, meta);
  const paper = meta.paper === undefined ? '' : ` The paper: ${String(meta.paper)}.`;
  jsonSchemaRegistry.add(schema, {
    title: meta.label,
    description: `${meta.help}${meta.unit ? ` (${meta.unit})` : ''}.${paper}`,
    default: meta.default,
  });
  return schema;
}

/** A value as a message shows it: strings quoted and cut, NaN and ∞ by name. */
export function shown(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
  if (typeof x === 'number') return Number.isNaN(x) ? 'NaN' : String(x);
  if (x === undefined) return 'nothing';
  if (x === null) return 'null';
  if (Array.isArray(x)) return `a list of ${x.length}`;
  if (typeof x === 'object') return 'an object';
  return String(x);
}

export function intRangeMessage(min: number, max: number, got: unknown): string {
  return `must be a whole number from ${min} to ${max} (got ${shown(got)})`;
}

export function numberRangeMessage(min: number, max: number, openMin: boolean, got: unknown): string {
  return `must be a number ${openMin ? '>' : '≥'} ${min} and ≤ ${max} (got ${shown(got)})`;
}

/** A whole number in [min, max]. */
export function int(min: number, max: number, def: number, meta: Common & { paper?: number }) {
  const error = (iss: { input?: unknown }) => intRangeMessage(min, max, iss.input);
  const schema = z
    .number({ error })
    .check(z.int({ error }), z.minimum(min, { error }), z.maximum(max, { error }));
  return register(schema, { kind: 'int', min, max, default: def, applies: 'always', ...meta });
}

/** A finite number in [min, max] (or (min, max] with openMin). */
export function num(
  min: number,
  max: number,
  def: number,
  meta: Common & { paper?: number; openMin?: boolean },
) {
  const openMin = meta.openMin ?? false;
  const error = (iss: { input?: unknown }) => numberRangeMessage(min, max, openMin, iss.input);
  const schema = z
    .number({ error })
    .check(z.maximum(max, { error }), openMin ? z.gt(min, { error }) : z.minimum(min, { error }));
  return register(schema, { kind: 'number', min, max, openMin, default: def, applies: 'always', ...meta });
}

/** One of a fixed set of strings. */
export function choice<const T extends readonly [string, ...string[]]>(
  values: T,
  def: T[number],
  meta: Common & { paper?: T[number]; labels?: Readonly<Record<T[number], string>> },
) {
  const error = (iss: { input?: unknown }) => `must be one of ${values.join(', ')} (got ${shown(iss.input)})`;
  const schema = z.enum(values, { error });
  const { labels, ...rest } = meta;
  return register(schema, {
    kind: 'choice',
    choices: values,
    choiceLabels: labels,
    default: def,
    applies: 'always',
    ...rest,
  });
}

export function bool(def: boolean, meta: Common & { paper?: boolean }) {
  const error = (iss: { input?: unknown }) => `must be true or false (got ${shown(iss.input)})`;
  return register(z.boolean({ error }), { kind: 'boolean', default: def, applies: 'always', ...meta });
}

/** A list of whole numbers in [min, max] (layer indices). */
export function intList(min: number, max: number, def: number[], meta: Common) {
  const item = (iss: { input?: unknown }) => intRangeMessage(min, max, iss.input);
  const error = (iss: { input?: unknown }) => `must be a list of whole numbers (got ${shown(iss.input)})`;
  const schema = z.array(
    z
      .number({ error: item })
      .check(z.int({ error: item }), z.minimum(min, { error: item }), z.maximum(max, { error: item })),
    { error },
  );
  return register(schema, { kind: 'int-list', min, max, default: def, applies: 'always', ...meta });
}

/** Free text (a name, a pasted corpus) up to maxLength characters. */
export function text(maxLength: number, def: string, meta: Common) {
  const error = (iss: { input?: unknown }) =>
    `must be a text of at most ${maxLength} characters (got ${shown(iss.input)})`;
  const schema = z.string({ error }).check(z.maxLength(maxLength, { error }));
  return register(schema, { kind: 'text', max: maxLength, default: def, applies: 'always', ...meta });
}

/** The metadata of a leaf schema (through .optional()). */
export function metaOf(schema: z.ZodMiniType): FieldMeta | undefined {
  const direct = settingsRegistry.get(schema);
  if (direct) return direct;
  if (schema instanceof z.ZodMiniOptional) return metaOf(schema.def.innerType as z.ZodMiniType);
  return undefined;
}
