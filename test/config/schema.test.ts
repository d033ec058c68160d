// Walks every setting of the schema: each has a default, a label, help and (where numeric)
// limits, and an out-of-range value is refused with an error naming the setting and the limit
// from every way a setting comes in: a preset, a checkpoint manifest, a CLI flag, the form and
// a link.

import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../cli/args.ts';
import type { FieldMeta } from '../../src/config/fields.ts';
import { presetJsonSchema } from '../../src/config/json-schema.ts';
import { ConfigError, validateRunSpec } from '../../src/config/validate.ts';
import { type SettingLeaf, settingLeaves } from '../../src/config/walk.ts';
import { parseManifest } from '../../src/gpu/checkpoint/checkpoint.ts';
import { parsePreset, presetRuns } from '../../src/gpu/train/preset.ts';
import { buildExperiment, DEFAULT_DRAFT, type ExperimentDraft, FIELD_OF } from '../../src/ui/config/draft.ts';
import { draftToHash, hashToDraft } from '../../src/ui/config/url.ts';

const leaves = settingLeaves();
const pathOf = (leaf: SettingLeaf) => leaf.path.replace(/#.*$/, '');

const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A value the setting must refuse, and the words its message must contain. */
function badValue(meta: FieldMeta): { value: unknown; says: RegExp } {
  switch (meta.kind) {
    case 'int':
      return { value: meta.max! + 1, says: new RegExp(`from ${meta.min} to ${meta.max}`) };
    case 'number':
      return meta.openMin
        ? { value: meta.min, says: new RegExp(`> ${meta.min} and ≤ ${meta.max}`) }
        : { value: meta.max! * 2 + 1, says: new RegExp(`≤ ${meta.max}`) };
    case 'choice':
      return { value: 'nosuch', says: new RegExp(escaped(`one of ${meta.choices!.join(', ')}`)) };
    case 'boolean':
      return { value: 'maybe', says: /true or false/ };
    case 'int-list':
      return { value: [meta.max! + 1], says: new RegExp(`from ${meta.min} to ${meta.max}`) };
    case 'text':
      return { value: 7, says: /text/ };
  }
}

/** A run spec in which the leaf applies (a ROSA field on a ROSA variant, and so on). */
function contextFor(leaf: SettingLeaf): { variant: string; protocol: string; task: Record<string, unknown> } {
  const applies = leaf.meta.applies;
  const variant = applies === 'rosa' ? 'window+rosa' : applies === 'lrsa' ? 'lrsa' : 'window';
  const kind = leaf.taskKinds?.[0] ?? 'niah';
  const task: Record<string, unknown> =
    kind === 'text'
      ? { kind, seqLen: 64, source: 'user', text: 'some text '.repeat(100) }
      : { kind, seqLen: 64 };
  return { variant, protocol: applies === 'two-stage' ? 'two-stage' : 'all', task };
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = target;
  for (const k of keys.slice(0, -1)) {
    o[k] = { ...((o[k] as Record<string, unknown>) ?? {}) };
    o = o[k] as Record<string, unknown>;
  }
  o[keys.at(-1)!] = value;
}

/** The backend, its WebGPU feature choices and CPU threads: flags and run specs, not preset content. */
function isMachineChoice(path: string): boolean {
  return path === 'backend' || path.startsWith('gpu.') || path.startsWith('cpu.');
}

function presetWith(leaf: SettingLeaf, value: unknown): Record<string, unknown> {
  const { variant, protocol, task } = contextFor(leaf);
  const preset: Record<string, unknown> = {
    name: 'p',
    description: 'schema test',
    task,
    model: {},
    train: { protocol, steps: 100, stageASteps: 10 },
    variants: [{ name: 'v', variant }],
  };
  const path = pathOf(leaf);
  if (isMachineChoice(path)) return preset;
  setPath(preset, path, value);
  return preset;
}

describe('settings schema', () => {
  it('declares every setting with a default, a label, help and limits', () => {
    expect(leaves.length).toBeGreaterThan(50);
    for (const leaf of leaves) {
      const where = pathOf(leaf);
      expect(Object.hasOwn(leaf.meta, 'default'), `${where} has a default`).toBe(true);
      expect(leaf.meta.label.length, `${where} has a label`).toBeGreaterThan(0);
      expect(leaf.meta.help.length, `${where} has help`).toBeGreaterThan(3);
      if (leaf.meta.kind === 'int' || leaf.meta.kind === 'number' || leaf.meta.kind === 'int-list') {
        expect(leaf.meta.min, `${where} min`).toBeTypeOf('number');
        expect(leaf.meta.max, `${where} max`).toBeTypeOf('number');
      }
      if (leaf.meta.default !== undefined && !(where === 'model.rosa.layers')) {
        expect(leaf.schema.safeParse(leaf.meta.default).success, `${where}'s default is valid`).toBe(true);
      }
    }
  });

  it('declares the ROSA bits and the window once', () => {
    expect(leaves.filter((l) => pathOf(l) === 'model.rosa.bits')).toHaveLength(1);
    expect(leaves.filter((l) => pathOf(l) === 'model.window')).toHaveLength(1);
  });

  it('refuses an out-of-range value in a preset, naming preset.<path> and the limit', () => {
    for (const leaf of leaves) {
      const path = pathOf(leaf);
      if (isMachineChoice(path)) continue;
      const { value, says } = badValue(leaf.meta);
      let error: unknown = null;
      try {
        presetRuns(parsePreset(presetWith(leaf, value)), 'cpu');
      } catch (err) {
        error = err;
      }
      expect(error, path).toBeInstanceOf(ConfigError);
      const fields = (error as ConfigError).fields;
      const hit = fields.find((f) => f.field === `preset.${path}`);
      expect(hit, `${path}: ${JSON.stringify(fields)}`).toBeDefined();
      expect(hit!.message, path).toMatch(says);
    }
  });

  it('refuses it in a checkpoint manifest and in a run spec', () => {
    for (const leaf of leaves) {
      const path = pathOf(leaf);
      const { value, says } = badValue(leaf.meta);
      // A valid text: long enough for a user-text task, short enough for a name.
      const text = 'a text long enough '.repeat(leaf.meta.max! < 1000 ? 5 : 40);
      const valid = leaf.meta.kind === 'text' ? text : leaf.meta.default;
      const [run] = presetRuns(parsePreset(presetWith(leaf, valid)), 'cpu');
      const spec = structuredClone(run.spec) as unknown as Record<string, unknown>;
      setPath(spec, path, value);
      const errors = validateRunSpec(spec);
      expect(
        errors.find((e) => e.field === path && says.test(e.message)),
        `${path}: ${JSON.stringify(errors)}`,
      ).toBeDefined();
      const manifest = JSON.stringify({
        format: 'rosa-playground-checkpoint',
        version: 1,
        spec,
        step: 1,
        savedAt: new Date(0).toISOString(),
        metrics: { steps: [], evals: [] },
      });
      expect(() => parseManifest(manifest, 'm.json'), path).toThrow(
        new RegExp(`${path.replace(/\./g, '\\.')} `),
      );
    }
  });

  it('refuses it as a command-line flag, named --<path>', () => {
    for (const leaf of leaves) {
      const path = pathOf(leaf);
      // Any text is text on a command line; a task field declared per task kind (MQAR's and
      // induction's vocabulary) is checked against the preset's task, as in the preset test.
      if (leaf.meta.kind === 'text' || leaves.some((l) => l !== leaf && pathOf(l) === path)) continue;
      const { value, says } = badValue(leaf.meta);
      const raw = Array.isArray(value) ? value.join(',') : String(value);
      const parsed = parseArgs([`--${path}`, raw], ['preset']);
      const hit = parsed.errors.find((e) => e.field === `--${path}`);
      expect(hit, `${path}: ${JSON.stringify(parsed.errors)}`).toBeDefined();
      expect(hit!.message, path).toMatch(says);
    }
  });

  it('refuses it in the form and from a link, filed under the setting', () => {
    const formKeys = Object.entries(FIELD_OF) as Array<[keyof ExperimentDraft, string]>;
    let checked = 0;
    for (const leaf of leaves) {
      const path = pathOf(leaf);
      const entry = formKeys.find(([, field]) => field === path);
      if (!entry || !['int', 'number', 'choice'].includes(leaf.meta.kind)) continue;
      const [key] = entry;
      const { value, says } = badValue(leaf.meta);
      const kind = leaf.taskKinds?.[0] ?? 'niah';
      const draft: ExperimentDraft = {
        ...DEFAULT_DRAFT,
        task: kind as ExperimentDraft['task'],
        variants: [leaf.meta.applies === 'lrsa' ? 'lrsa' : 'window+rosa'],
        protocol: leaf.meta.applies === 'two-stage' ? 'two-stage' : 'all',
        stageASteps: '10',
        [key]: String(value),
      };
      if (leaf.meta.kind === 'choice') {
        // The form offers only the choices; a link can carry anything, and says so.
        const link = hashToDraft(draftToHash(draft));
        expect(
          link.problems.map((p) => p.field),
          `link ${path}`,
        ).toContain(path);
      } else {
        const fromForm = buildExperiment(draft);
        const message = fromForm.byField[path]?.[0];
        expect(message, `form ${path}: ${JSON.stringify(fromForm.errors)}`).toBeDefined();
        expect(message, `form ${path}`).toMatch(says);
        // A link keeps numbers as typed, so the form explains them the same way.
        const fromLink = buildExperiment(hashToDraft(draftToHash(draft)).draft);
        expect(fromLink.byField[path]?.[0], `link ${path}`).toMatch(says);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
  });

  it('refuses micro-batches that do not divide the batch, naming both', () => {
    const preset = (microBatches: number) =>
      presetRuns(
        parsePreset({
          name: 'p',
          description: 'micro-batches',
          task: { kind: 'niah', seqLen: 64 },
          model: {},
          train: { steps: 10, batchSize: 6, microBatches },
          variants: [{ name: 'v', variant: 'window+rosa' }],
        }),
        'cpu',
      );
    expect(() => preset(4)).toThrow('preset.train.microBatches must divide the batch size 6 (got 4)');
    const [run] = preset(3);
    expect(validateRunSpec(run.spec)).toEqual([]);
    expect(validateRunSpec({ ...run.spec, train: { ...run.spec.train, microBatches: 4 } })).toContainEqual({
      field: 'train.microBatches',
      message: 'must divide the batch size 6 (got 4)',
    });
  });

  it('keeps presets/schema.json in step with the schema', async () => {
    const committed = await readFile(new URL('../../presets/schema.json', import.meta.url), 'utf8');
    // Compared as data: the formatter may lay the file out differently.
    expect(JSON.parse(committed), 'run `npm run schema` to regenerate presets/schema.json').toEqual(
      presetJsonSchema(),
    );
  });

  it('reads every preset in presets/ and points it at the schema', async () => {
    const dir = new URL('../../presets/', import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json') && f !== 'schema.json');
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const json = JSON.parse(await readFile(new URL(file, dir), 'utf8'));
      expect(json.$schema, file).toBe('./schema.json');
      expect(presetRuns(parsePreset(json), 'cpu').length, file).toBe(json.variants.length);
    }
  });
});
