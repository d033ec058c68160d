// The experiment form: a preset, the task, the variants to compare, the model and training
// settings. Every field shows the engine validators' message next to it; Start stays
// disabled while anything is invalid.

import { type ChangeEvent, useCallback, useEffect, useMemo, useState } from 'react';
import { formatCount, formatDuration } from '../../common/format.ts';
import { formatBytes } from '../../config/memory.ts';
import { MAX_USER_TEXT } from '../../config/schema.ts';
import { settingMeta } from '../../config/walk.ts';
import { type FieldError, VARIANTS, type Variant } from '../../gpu/model/config.ts';
import type { CheckpointInfo } from '../../gpu/train/protocol.ts';
import { checkUserText } from '../../tasks/text.ts';
import {
  buildExperiment,
  type ChoiceDraftKey,
  type DraftKey,
  type EngineCapabilities,
  type ExperimentDraft,
  FIELD_OF,
  FORM_FIELDS,
  TASK_KINDS,
  TASK_LABELS,
  type TextDraftKey,
} from '../config/draft.ts';
import { setupEstimates } from '../config/estimates.ts';
import { draftToHash } from '../config/url.ts';
import { applyPreset, PRESETS, type Preset } from '../presets.ts';
import { usePlayground } from '../state/context.tsx';
import { SelectField, TextField } from './Field.tsx';

/** What each variant is, from the settings schema. */
export const VARIANT_HELP = settingMeta('model.variant').choiceLabels as Record<Variant, string>;

const EDITABLE_TEXT = 100_000;

export interface ExperimentSetupProps {
  draft: ExperimentDraft;
  onChange: (draft: ExperimentDraft) => void;
  /** Problems with the link the page was opened with. */
  linkProblems: FieldError[];
  engine: EngineCapabilities;
  /** Why runs cannot start at all (no engine); null when they can. */
  engineBlocker: string | null;
  onStart: (draft: ExperimentDraft) => Promise<string[]>;
  /** Preset highlighted at first (the one the draft came from). */
  initialPresetId?: string | null;
  /** The presets offered, in order (presetsFor: a software adapter's quick one first). */
  presets?: Preset[];
}

export function ExperimentSetup({
  draft,
  onChange,
  linkProblems,
  engine,
  engineBlocker,
  onStart,
  initialPresetId = null,
  presets = PRESETS,
}: ExperimentSetupProps) {
  const [starting, setStarting] = useState(false);
  const [startErrors, setStartErrors] = useState<string[]>([]);
  const [textError, setTextError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [presetId, setPresetId] = useState<string | null>(initialPresetId);
  // The page may switch the starting preset once the adapter is known (a software one).
  useEffect(() => setPresetId(initialPresetId), [initialPresetId]);
  const checkpoints = useCheckpointList();
  // "More settings" opens itself on an error there and stays open once the error is fixed.
  const [advancedOpen, setAdvancedOpen] = useState(false);

  const built = useMemo(() => buildExperiment(draft, { engine }), [draft, engine]);
  const messages = useMemo(() => {
    const by: Record<string, string[]> = {};
    const fromLink = linkProblems.map((e) => ({ field: e.field, message: `: ${e.message}` }));
    for (const e of [...fromLink, ...built.errors]) {
      by[e.field] ??= [];
      if (!by[e.field].includes(e.message)) by[e.field].push(e.message);
    }
    return by;
  }, [linkProblems, built]);
  const other = built.errors.filter((e) => !FORM_FIELDS.has(e.field));
  const m = (key: keyof ExperimentDraft) => messages[FIELD_OF[key]];
  const w = (key: keyof ExperimentDraft) => built.warnings[FIELD_OF[key]];

  const set = <K extends keyof ExperimentDraft>(key: K, value: ExperimentDraft[K]) => {
    setPresetId(null);
    onChange({ ...draft, [key]: value });
  };
  /** Label, hint and choices of a form field, from the settings schema. */
  const meta = (key: DraftKey) => settingMeta(FIELD_OF[key], draft.task);
  const hintOf = (key: DraftKey) => {
    const f = meta(key);
    const paper = f.paper === undefined ? '' : ` (paper: ${String(f.paper)})`;
    return `${f.help}${f.unit ? ` (${f.unit})` : ''}${paper}`;
  };
  const text = (key: TextDraftKey, inputMode: 'numeric' | 'decimal' = 'numeric') => (
    <TextField
      label={meta(key).label}
      value={draft[key]}
      onChange={(v) => set(key, v)}
      messages={m(key)}
      warnings={w(key)}
      hint={hintOf(key)}
      inputMode={inputMode}
    />
  );

  const choice = <K extends ChoiceDraftKey>(key: K, extra: { wide?: boolean } = {}) => {
    const f = meta(key);
    const options = (f.choices ?? []).map((value) => ({
      value: value as ExperimentDraft[K],
      label: `${f.choiceLabels?.[value] ?? value}${f.paper === value && !f.choiceLabels?.[value]?.includes('paper') ? ' (paper)' : ''}`,
    }));
    return (
      <SelectField
        label={f.label}
        value={draft[key]}
        options={options}
        onChange={(v) => set(key, v)}
        messages={m(key)}
        hint={f.help}
        {...extra}
      />
    );
  };

  const hasRosa = draft.variants.some((v) => v.endsWith('+rosa'));
  const hasLrsa = draft.variants.some((v) => v.startsWith('lrsa'));
  const hasWindow = draft.variants.some((v) => v !== 'global');
  const advancedInvalid = [
    'batchSize',
    'warmupSteps',
    'lengthWarmup',
    'evalEvery',
    'evalBatches',
    'checkpointEvery',
    'protocol',
    'stageASteps',
    'baseLr',
  ].some((k) => (m(k as keyof ExperimentDraft)?.length ?? 0) > 0);
  useEffect(() => {
    if (advancedInvalid) setAdvancedOpen(true);
  }, [advancedInvalid]);
  // Each variant runs once per seed when repeated.
  const repeats = Math.max(1, Number.parseInt(draft.repeats, 10) || 1);
  const runs = VARIANTS.filter((v) => draft.variants.includes(v)).length * repeats;
  const valid = built.errors.length === 0;
  const first = built.specs[0];
  const tokensPerRun = first ? first.train.steps * first.train.batchSize * first.task.seqLen : 0;
  const estimates = useSetupEstimates(built.specs, engine);

  const toggleVariant = (v: Variant) => {
    const has = draft.variants.includes(v);
    set('variants', has ? draft.variants.filter((x) => x !== v) : [...draft.variants, v]);
  };

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    setTextError(null);
    if (file.size > MAX_USER_TEXT) {
      setTextError(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MiB; the limit is 20 MiB`);
      return;
    }
    try {
      const content = await file.text();
      checkUserText(content, file.name);
      onChange({ ...draft, task: 'text', textSource: 'user', userText: content, userTextName: file.name });
    } catch (err) {
      setTextError((err as Error).message);
    }
  };

  const start = async () => {
    setStarting(true);
    setStartErrors([]);
    try {
      setStartErrors(await onStart(draft));
    } finally {
      setStarting(false);
    }
  };

  const copyLink = async () => {
    const url = `${location.origin}${location.pathname}${draftToHash(draft)}`;
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // No clipboard access (insecure context, permissions): let the user copy it by hand.
      prompt('Copy this link to reproduce the setup:', url);
    }
  };

  const preset = presets.find((p) => p.id === presetId);
  const blocker = engineBlocker ?? (valid ? null : 'Fix the fields marked in red to start.');

  return (
    <section className="card setup" aria-labelledby="setup-heading">
      <h2 id="setup-heading">Experiment</h2>

      <fieldset className="presets" aria-label="Presets">
        {presets.map((p) => (
          <button
            key={p.id}
            type="button"
            className={`chip${presetId === p.id ? ' chip-on' : ''}`}
            title={p.description}
            onClick={() => {
              onChange(applyPreset(p, draft));
              setPresetId(p.id);
            }}
          >
            {p.name}
          </button>
        ))}
      </fieldset>
      {preset && <p className="hint">{preset.description}</p>}

      {linkProblems.length > 0 && (
        <div className="callout callout-warn" role="alert">
          <strong>The link has settings this page does not understand:</strong>
          <ul>
            {linkProblems.map((p) => (
              <li key={`${p.field}:${p.message}`}>
                {p.field}: {p.message}
              </li>
            ))}
          </ul>
        </div>
      )}

      <fieldset>
        <legend>Task</legend>
        <div className="fields">
          <SelectField
            label="Task"
            value={draft.task}
            options={TASK_KINDS.map((k) => ({ value: k, label: TASK_LABELS[k] }))}
            onChange={(v) => set('task', v)}
            messages={m('task')}
            wide
          />
          {text('seqLen')}
          {draft.task === 'niah' && (
            <>
              {text('keyLength')}
              {choice('filler')}
              {choice('niahLoss')}
              {choice('tokenizer')}
            </>
          )}
          {draft.task === 'mqar' && (
            <>
              {text('taskVocab')}
              {text('pairs')}
              {choice('gaps')}
              <label className="check">
                <input
                  type="checkbox"
                  checked={draft.randomFiller}
                  onChange={(e) => set('randomFiller', e.target.checked)}
                />
                random filler tokens
              </label>
            </>
          )}
          {draft.task === 'induction' && (
            <>
              {text('taskVocab')}
              {text('segment')}
            </>
          )}
        </div>
        {draft.task === 'text' && (
          <div className="fields">
            {text('textRepeat')}
            {choice('tokenizer')}
          </div>
        )}
        {draft.task === 'text' && (
          <div className="text-source">
            <div className="radio-row" role="radiogroup" aria-label="Text source">
              <label className="check">
                <input
                  type="radio"
                  name="text-source"
                  checked={draft.textSource === 'moby-dick'}
                  onChange={() => set('textSource', 'moby-dick')}
                />
                Moby Dick (bundled, public domain)
              </label>
              <label className="check">
                <input
                  type="radio"
                  name="text-source"
                  checked={draft.textSource === 'user'}
                  onChange={() => set('textSource', 'user')}
                />
                Your own text
              </label>
            </div>
            {draft.textSource === 'user' && (
              <div className="user-text">
                <div className="row">
                  <label className="button secondary file-button">
                    Upload a .txt file
                    <input
                      type="file"
                      accept=".txt,.md,text/plain"
                      onChange={onFile}
                      aria-label="Upload a text file"
                    />
                  </label>
                  {draft.userText && (
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => onChange({ ...draft, userText: '', userTextName: '' })}
                    >
                      Clear text
                    </button>
                  )}
                </div>
                {draft.userText.length <= EDITABLE_TEXT ? (
                  <textarea
                    aria-label="Your text"
                    placeholder="…or paste a text here (a few thousand characters at least)"
                    rows={5}
                    value={draft.userText}
                    onChange={(e) =>
                      onChange({
                        ...draft,
                        userText: e.target.value,
                        userTextName: draft.userTextName || 'pasted text',
                      })
                    }
                  />
                ) : (
                  <pre className="text-preview">{draft.userText.slice(0, 2000)}…</pre>
                )}
                <p className="field-hint">
                  {draft.userText
                    ? `${draft.userTextName || 'text'}: ${formatCount(draft.userText.length)} characters, ${
                        built.specs[0]?.model.vocabSize ?? '?'
                      } distinct tokens. It stays in this browser and is not put in links.`
                    : 'Your text stays in this browser; it is not put in links.'}
                </p>
                {textError && (
                  <p className="field-error" role="alert">
                    {textError}
                  </p>
                )}
                {m('userText')?.map((msg) => (
                  <p key={msg} className="field-error">
                    Text {msg}
                  </p>
                ))}
              </div>
            )}
          </div>
        )}
      </fieldset>

      <fieldset>
        <legend>Variants to compare</legend>
        <div className="variants">
          {VARIANTS.map((v) => (
            <label key={v} className="check variant-check" title={VARIANT_HELP[v]}>
              <input type="checkbox" checked={draft.variants.includes(v)} onChange={() => toggleVariant(v)} />
              <span className={`swatch swatch-${v.replace('+', '-')}`} aria-hidden="true" />
              <span>
                {v}
                <small>{VARIANT_HELP[v]}</small>
              </span>
            </label>
          ))}
        </div>
        {m('variants')?.map((msg) => (
          <p key={msg} className="field-error" data-testid="field-error">
            Variants{msg.startsWith(':') ? '' : ':'} {msg.replace(/^: /, '')}
          </p>
        ))}
      </fieldset>

      <fieldset>
        <legend>Model</legend>
        <div className="fields">
          {text('layers')}
          {text('width')}
          {text('heads')}
          {text('mlpHidden')}
          {hasWindow && text('window')}
          {hasRosa && text('bits')}
          {hasRosa && choice('semantics', { wide: true })}
          {hasRosa && choice('qk', { wide: true })}
          {hasRosa && text('eInit', 'decimal')}
          {hasRosa && text('projectionLrScale', 'decimal')}
          {hasLrsa && text('lrsaSink')}
          {hasLrsa && text('lrsaChunk')}
          {hasLrsa && text('lrsaRatio', 'decimal')}
        </div>
        <label className="check">
          <input
            type="checkbox"
            checked={draft.layer0Global}
            onChange={(e) => set('layer0Global', e.target.checked)}
          />
          keep layer 0 global (as in the paper)
        </label>
        {m('layer0Global')?.map((msg) => (
          <p key={msg} className="field-error">
            Layer 0 global: {msg}
          </p>
        ))}
      </fieldset>

      <fieldset>
        <legend>Start from</legend>
        <SelectField
          label="Weights"
          value={draft.from}
          options={[
            { value: '', label: 'fresh (train from scratch)' },
            ...checkpoints.list.map((c) => ({
              value: c.key,
              label: `${c.name} (${c.variant}), step ${c.step}`,
            })),
            ...(draft.from && !checkpoints.list.some((c) => c.key === draft.from)
              ? [{ value: draft.from, label: `${draft.from} (not in this browser's checkpoints)` }]
              : []),
          ]}
          onChange={(v) => set('from', v)}
          onFocus={checkpoints.refresh}
          messages={m('from')}
          hint="a trained run's checkpoint or an imported Hugging Face model: the runs take its shape (layers, width, heads) and base weights, a ROSA adapter starts fresh (ROSA-Tuning)"
          wide
        />
        {draft.from && (
          <label className="check">
            <input
              type="checkbox"
              checked={draft.evalOnly}
              onChange={(e) => set('evalOnly', e.target.checked)}
            />
            evaluate only: the same weights under each variant, no training
          </label>
        )}
      </fieldset>

      <fieldset>
        <legend>Training</legend>
        <div className="fields">
          {text('steps')}
          {text('lr', 'decimal')}
          {hasRosa && text('rosaLr', 'decimal')}
          {text('seed')}
          {text('repeats')}
          {choice('backend')}
        </div>
        <details
          className="advanced"
          open={advancedOpen || advancedInvalid}
          onToggle={(e) => setAdvancedOpen((e.target as HTMLDetailsElement).open)}
        >
          <summary>More settings</summary>
          <div className="fields">
            {text('batchSize')}
            {text('microBatches')}
            {text('warmupSteps')}
            {text('lengthWarmup')}
            {text('evalEvery')}
            {text('evalBatches')}
            {text('checkpointEvery')}
            {choice('protocol')}
            {draft.protocol === 'two-stage' && text('stageASteps')}
            {draft.protocol === 'two-stage' && text('baseLr', 'decimal')}
          </div>
        </details>
      </fieldset>

      {other.length > 0 && (
        <div className="callout callout-error" role="alert">
          {other.map((e) => (
            <p key={`${e.field}:${e.message}`}>
              {e.field} {e.message}
            </p>
          ))}
        </div>
      )}
      {built.notes.map((n) => (
        <p key={n} className="hint">
          {n}
        </p>
      ))}

      <div className="start-row">
        <button type="button" className="primary" disabled={!!blocker || starting} onClick={start}>
          {starting ? 'Starting…' : runs > 1 ? `Start ${runs} runs` : runs === 1 ? 'Start 1 run' : 'Start'}
        </button>
        <button
          type="button"
          className="secondary"
          onClick={copyLink}
          title="Copy a link that reproduces this setup"
        >
          {copied ? 'Copied' : 'Copy link'}
        </button>
        {estimates && (
          <p className="hint start-estimates" data-testid="start-estimates">
            <span title="parameters, AdamW moments, activations kept for backward, ROSA scan buffers">
              Memory ≈ {formatBytes(estimates.memoryBytes)} per run
              {runs > 1 ? `, ${formatBytes(estimates.totalBytes)} for all ${runs}` : ''}
              {estimates.budget ? ` (limit ${formatBytes(estimates.budget.bytes)})` : ''}
            </span>
            {' · '}
            <span
              title={
                estimates.rate.source === 'measured'
                  ? 'from the speed of the last run on this backend'
                  : `an assumed speed for ${DEVICE_WORDS[estimates.device]}; the first run here measures it`
              }
            >
              about {formatDuration(estimates.durationMs)} on this device
              {estimates.rate.source === 'measured' ? ' (measured speed)' : ' (assumed speed)'}
            </span>
          </p>
        )}
      </div>
      {blocker ? (
        <p className="hint" data-testid="start-blocker">
          {blocker}
        </p>
      ) : (
        <p className="hint">
          {runs} run{runs === 1 ? '' : 's'} on the same data
          {repeats > 1 ? `, each variant with ${repeats} seeds` : ' and seed'}, {formatCount(tokensPerRun)}{' '}
          training tokens each.
        </p>
      )}
      {startErrors.map((e) => (
        <p key={e} className="error" role="alert">
          {e}
        </p>
      ))}
    </section>
  );
}

const DEVICE_WORDS = { gpu: 'a GPU', 'software-gpu': 'a software adapter', cpu: 'the CPU backend' } as const;

/** Memory and duration of the comparison on this device, from the engine's adapter and past runs. */
function useSetupEstimates(specs: Parameters<typeof setupEstimates>[0], engine: EngineCapabilities) {
  const info = usePlayground((s) => s.engine.info);
  const runs = usePlayground((s) => s.runs);
  const order = usePlayground((s) => s.runOrder);
  return useMemo(() => {
    const timed = order.flatMap((id) => {
      const r = runs[id];
      return r ? [{ spec: r.spec, msPerStep: r.rate.msPerStep }] : [];
    });
    return setupEstimates(specs, {
      limits: engine.limits,
      softwareAdapter: info?.adapter?.isSoftware === true,
      workers: info?.rosaWorkers ?? 1,
      timed,
    });
  }, [specs, engine.limits, info, runs, order]);
}

/** The engine's stored checkpoints, listed when the form opens and when the picker is focused. */
function useCheckpointList(): { list: CheckpointInfo[]; refresh: () => void } {
  const client = usePlayground((s) => s.client);
  const ready = usePlayground((s) => s.engine.status === 'ready');
  const [list, setList] = useState<CheckpointInfo[]>([]);
  const refresh = useCallback(() => {
    if (!client || !ready) return;
    client.listCheckpoints().then(setList, () => setList([]));
  }, [client, ready]);
  useEffect(refresh, [refresh]);
  return { list, refresh };
}
