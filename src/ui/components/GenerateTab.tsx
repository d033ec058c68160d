// Text generation from a trained text model: a prompt, a length, a temperature and a seed;
// the engine samples one token per forward pass (between training steps) and the text grows
// here as each token arrives. Stop ends it after the current token and keeps the text so far.

import { useEffect, useMemo, useRef, useState } from 'react';
import type { Generation } from '../../gpu/train/protocol.ts';
import {
  DEFAULT_GENERATE_FORM,
  type FormField,
  type GenerateForm,
  parseGenerateForm,
} from '../generate/form.ts';
import { usePlayground, usePlaygroundStore } from '../state/context.tsx';
import { errorMessage } from '../state/store.ts';
import type { RunRecord } from '../state/types.ts';

const QUERYABLE: RunRecord['status'][] = ['running', 'paused', 'stopped', 'finished'];

export function GenerateTab() {
  const store = usePlaygroundStore();
  const order = usePlayground((s) => s.runOrder);
  const runsById = usePlayground((s) => s.runs);
  const engineReady = usePlayground((s) => s.engine.status === 'ready');
  const allTextRuns = useMemo(
    () => order.map((id) => runsById[id]).filter((r): r is RunRecord => !!r && r.spec.task.kind === 'text'),
    [order, runsById],
  );
  const textRuns = allTextRuns.filter((r) => QUERYABLE.includes(r.status));
  const [runId, setRunId] = useState('');
  const [form, setForm] = useState<GenerateForm>(DEFAULT_GENERATE_FORM);
  const [streamed, setStreamed] = useState('');
  const [shownPrompt, setShownPrompt] = useState('');
  const [result, setResult] = useState<Generation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [stopping, setStopping] = useState(false);
  /** The length of the request shown, for "stopped after n of m". */
  const [requested, setRequested] = useState(0);
  const request = useRef(0);
  /** The run whose generation is in progress, for Stop (and for leaving the tab). */
  const generating = useRef<string | null>(null);
  // A later request (or leaving the tab) makes the tokens of an earlier one stale; leaving the
  // tab also stops the engine's generation, whose text nobody would see.
  useEffect(
    () => () => {
      request.current++;
      const runId = generating.current;
      if (runId)
        void store
          .getState()
          .client?.cancelGeneration(runId)
          .catch(() => undefined);
    },
    [store],
  );

  const run = textRuns.find((r) => r.id === runId) ?? textRuns[textRuns.length - 1];
  const parsed = run ? parseGenerateForm(form, run.id, run.spec.model.seqLen) : null;
  const errors: Partial<Record<FormField, string>> = parsed?.errors ?? {};
  const set = (field: FormField) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [field]: e.target.value }));

  const generate = async () => {
    if (!parsed?.request) return;
    const id = ++request.current;
    setBusy(true);
    setStopping(false);
    setRequested(parsed.request.length);
    setError(null);
    setResult(null);
    setStreamed('');
    setShownPrompt(parsed.request.prompt);
    try {
      const client = store.getState().client;
      if (!client) throw new Error('The training engine is not available');
      generating.current = parsed.request.runId;
      const done = await client.generate(parsed.request, (token) => {
        if (id === request.current) setStreamed((s) => s + token.text);
      });
      if (id === request.current) {
        setStreamed(done.text);
        setResult(done);
      }
    } catch (err) {
      if (id === request.current) setError(errorMessage(err));
    } finally {
      if (id === request.current) {
        generating.current = null;
        setBusy(false);
        setStopping(false);
      }
    }
  };

  const stop = async () => {
    const runId = generating.current;
    const client = store.getState().client;
    if (!runId || !client) return;
    setStopping(true);
    try {
      await client.cancelGeneration(runId);
    } catch (err) {
      setStopping(false);
      setError(errorMessage(err));
    }
  };

  if (textRuns.length === 0 && allTextRuns.length > 0) {
    return (
      <div className="empty-state">
        <h3>No text model in memory</h3>
        <p>
          The text runs here failed, were interrupted by a reload, or have not started yet. Load a checkpoint
          of one in the <strong>Checkpoints</strong> tab (or wait for a queued run to start) to generate from
          it.
        </p>
      </div>
    );
  }
  if (textRuns.length === 0) {
    return (
      <div className="empty-state">
        <h3>No text runs yet</h3>
        <p>
          Generation continues a prompt with a model trained on text. Start an experiment with the{' '}
          <strong>text</strong> task (the bundled novel or your own text), let it train, then come back here.
        </p>
      </div>
    );
  }

  const meanProbability =
    result && result.tokens.length > 0
      ? result.tokens.reduce((s, t) => s + t.probability, 0) / result.tokens.length
      : null;

  return (
    <div className="generate">
      <div className="toolbar">
        <label>
          Run
          <select value={run?.id ?? ''} onChange={(e) => setRunId(e.target.value)} aria-label="Run">
            {textRuns.map((r) => (
              <option key={r.id} value={r.id}>
                {r.spec.name} ({r.status}, step {r.step})
              </option>
            ))}
          </select>
        </label>
        <label>
          Characters
          <input
            type="number"
            min={1}
            value={form.length}
            onChange={set('length')}
            aria-label="Characters to generate"
            aria-invalid={!!errors.length}
            className="narrow"
          />
        </label>
        <label>
          Temperature
          <input
            type="number"
            min={0}
            step={0.1}
            value={form.temperature}
            onChange={set('temperature')}
            aria-label="Temperature"
            aria-invalid={!!errors.temperature}
            className="narrow"
          />
        </label>
        <label>
          Seed
          <input
            type="number"
            min={0}
            value={form.seed}
            onChange={set('seed')}
            aria-label="Sampling seed"
            aria-invalid={!!errors.seed}
            className="narrow"
          />
        </label>
      </div>
      <label className="generate-prompt">
        Prompt
        <textarea
          value={form.prompt}
          onChange={set('prompt')}
          aria-label="Prompt"
          aria-invalid={!!errors.prompt}
          rows={3}
          spellCheck={false}
        />
      </label>
      <div className="toolbar">
        <button
          type="button"
          onClick={() => void generate()}
          disabled={!engineReady || busy || !parsed?.request}
        >
          {busy ? 'Generating…' : 'Generate'}
        </button>
        {busy && (
          <button
            type="button"
            className="ghost"
            onClick={() => void stop()}
            disabled={stopping}
            aria-label="Stop generating"
          >
            {stopping ? 'Stopping…' : 'Stop'}
          </button>
        )}
        <span className="hint">
          Temperature 0 is greedy (always the most likely character); higher values sample more freely. The
          model sees the last {run?.spec.model.seqLen} characters; the same seed gives the same text.
        </span>
      </div>
      {Object.values(errors).map((m) => (
        <p key={m} className="field-error">
          {m}
        </p>
      ))}
      {!engineReady && (
        <p className="hint">The training engine is not available, so nothing can be generated.</p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {(busy || result || streamed) && (
        <pre className="generated" data-testid="generated-text" aria-live="polite" aria-busy={busy}>
          <span className="generated-prompt">{shownPrompt}</span>
          {streamed}
          {busy && <span className="generated-caret">▍</span>}
        </pre>
      )}
      {result && (
        <p className="hint" data-testid="generation-summary">
          {result.stopped
            ? `Stopped after ${result.tokens.length} of ${requested} characters`
            : `${result.tokens.length} characters`}
          {meanProbability !== null &&
            `; mean probability of the sampled character ${(100 * meanProbability).toFixed(1)}%`}
          .
        </p>
      )}
    </div>
  );
}
