// Interactive needle-in-a-haystack: edit the haystack, the key and the depth, ask every
// trained model, see each answer and the retrieval arrows from the answer back to the
// needle; then the accuracy grid (context length × depth) per run.

import { useEffect, useMemo, useRef, useState } from 'react';
import { formatPercent } from '../../common/format.ts';
import type { NiahAnswer, NiahGridCell } from '../../gpu/train/protocol.ts';
import { useElementWidth } from '../hooks/useElementWidth.ts';
import {
  type Arc,
  answerArcs,
  arcSummary,
  corpusHaystack,
  maxHaystackLength,
  needleKeyEnd,
  parseFractionList,
  parseIntList,
  randomHaystack,
  randomKey,
  validateNiahInput,
} from '../niah/haystack.ts';
import { contextAround, showToken } from '../retrieval/heatmap.ts';
import { usePlayground, usePlaygroundStore } from '../state/context.tsx';
import { errorMessage } from '../state/store.ts';
import type { RunRecord } from '../state/types.ts';
import { useRunColors } from './RunList.tsx';

const QUERYABLE: RunRecord['status'][] = ['running', 'paused', 'stopped', 'finished'];

function drawStrip(
  canvas: HTMLCanvasElement,
  answer: NiahAnswer,
  arcs: Arc[],
  keyLength: number,
  width: number,
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const dpr = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1;
  // Room for arcs only when there are any.
  const H = arcs.length > 0 ? 150 : 64;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(H * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${H}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#171a21';
  ctx.fillRect(0, 0, width, H);
  const T = Math.max(1, answer.tokens.length);
  const pad = 8;
  const w = (width - 2 * pad) / T;
  const x = (i: number) => pad + (i + 0.5) * w;
  const stripY = H - 34;
  const stripH = 18;
  for (let i = 0; i < T; i++) {
    const onNeedle = i >= answer.needlePos && i <= needleKeyEnd(answer, keyLength);
    // The query runs to the end of the input: question, the needle's words again, the answer.
    const onQuery = i >= answer.queryPos;
    ctx.fillStyle = onNeedle ? '#34d399' : onQuery ? '#60a5fa' : i % 2 === 0 ? '#2a2f3a' : '#323846';
    ctx.fillRect(pad + i * w, stripY, Math.max(w - (w > 3 ? 0.5 : 0), 0.5), stripH);
  }
  if (w >= 7) {
    ctx.fillStyle = '#e6e8ee';
    ctx.font = `${Math.min(12, w)}px ui-monospace, Menlo, monospace`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let i = 0; i < T; i++) {
      const tok = answer.tokens[i] ?? '';
      if ([...tok].length === 1) ctx.fillText(showToken(tok), x(i), stripY + stripH / 2);
    }
  }
  // Arcs from each answer position back to what it retrieved.
  for (const a of arcs) {
    const x1 = x(a.from);
    const x2 = x(a.to);
    const h = Math.min(stripY - 8, 20 + Math.abs(x1 - x2) * 0.35);
    ctx.strokeStyle = a.onNeedle ? 'rgba(52, 211, 153, 0.9)' : 'rgba(248, 113, 113, 0.55)';
    ctx.lineWidth = a.onNeedle ? 1.6 : 1;
    ctx.beginPath();
    ctx.moveTo(x1, stripY);
    ctx.quadraticCurveTo((x1 + x2) / 2, stripY - 2 * h, x2, stripY);
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle;
    ctx.beginPath();
    ctx.moveTo(x2, stripY);
    ctx.lineTo(x2 - 3, stripY - 6);
    ctx.lineTo(x2 + 3, stripY - 6);
    ctx.fill();
  }
  ctx.fillStyle = '#9aa3b2';
  ctx.font = '11px ui-sans-serif, system-ui, sans-serif';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText('0', pad, H - 4);
  ctx.textAlign = 'center';
  ctx.fillText('needle', Math.min(Math.max(x(answer.needlePos), 30), width - 30), H - 4);
  ctx.fillText('query', Math.min(Math.max(x(answer.queryPos), 30), width - 30), H - 4);
}

export function NiahStrip({ answer, keyLength }: { answer: NiahAnswer; keyLength: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const width = useElementWidth(ref, 600);
  const arcs = useMemo(() => answerArcs(answer, keyLength), [answer, keyLength]);
  useEffect(() => {
    if (canvas.current) drawStrip(canvas.current, answer, arcs, keyLength, Math.max(200, width));
  }, [answer, arcs, keyLength, width]);
  const summary = arcSummary(arcs);
  const needle = contextAround(
    answer.tokens,
    answer.needlePos,
    10,
    needleKeyEnd(answer, keyLength) - answer.needlePos + 10,
  );
  // After the query's first token: what follows it but the last answer token (keyLength with ⟨Q⟩ ⟨K⟩).
  const query = contextAround(answer.tokens, answer.queryPos, 10, answer.tokens.length - answer.queryPos - 2);
  return (
    <div className="niah-strip" ref={ref}>
      <canvas
        ref={canvas}
        role="img"
        aria-label={`The input as a strip of ${answer.tokens.length} tokens, with arrows from the answer to the retrieved positions`}
      />
      <p className="hint" data-testid="arc-summary">
        {summary.total === 0
          ? 'No ROSA retrievals from the answer positions (this model has no ROSA layer, or nothing matched).'
          : `${summary.onNeedle} of ${summary.total} retrievals from the answer land on the needle.`}
      </p>
      <p className="context-line">
        <span className="hint">needle </span>
        <code className="context">
          {needle.before}
          <mark>{needle.at}</mark>
          {needle.after}
        </code>
      </p>
      <p className="context-line">
        <span className="hint">query </span>
        <code className="context">
          {query.before}
          <mark>{query.at}</mark>
          {query.after}
        </code>
      </p>
    </div>
  );
}

function accuracyColor(a: number): string {
  // red (0) → amber (0.5) → green (1)
  const hue = Math.round(120 * Math.min(1, Math.max(0, a)));
  return `hsl(${hue}, 55%, 32%)`;
}

export function NiahGridTable({ name, cells }: { name: string; cells: NiahGridCell[] }) {
  const lengths = [...new Set(cells.map((c) => c.length))].sort((a, b) => a - b);
  const depths = [...new Set(cells.map((c) => c.depth))].sort((a, b) => a - b);
  const at = (l: number, d: number) => cells.find((c) => c.length === l && c.depth === d);
  const mean = cells.length > 0 ? cells.reduce((a, c) => a + c.accuracy, 0) / cells.length : 0;
  return (
    <figure className="niah-grid">
      <figcaption>
        {name} <span className="hint">mean {formatPercent(mean)}</span>
      </figcaption>
      <table aria-label={`NIAH accuracy of ${name}`}>
        <thead>
          <tr>
            <th className="grid-h">depth \ length</th>
            {lengths.map((l) => (
              <th key={l} className="grid-h">
                {l}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {depths.map((d) => (
            <tr key={d}>
              <th className="grid-h">{formatPercent(d)}</th>
              {lengths.map((l) => {
                const c = at(l, d);
                return (
                  <td
                    key={l}
                    className="grid-c"
                    style={{ background: c ? accuracyColor(c.accuracy) : undefined }}
                  >
                    {c ? formatPercent(c.accuracy) : '—'}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

interface AnswerState {
  runId: string;
  answer?: NiahAnswer;
  error?: string;
}

interface GridState {
  cells?: NiahGridCell[];
  error?: string;
  loading?: boolean;
}

export function NiahTab() {
  const store = usePlaygroundStore();
  const order = usePlayground((s) => s.runOrder);
  const runsById = usePlayground((s) => s.runs);
  const engineReady = usePlayground((s) => s.engine.status === 'ready');
  const colors = useRunColors();
  const runs = useMemo(
    () => order.map((id) => runsById[id]).filter((r): r is RunRecord => !!r),
    [order, runsById],
  );
  // An interrupted run with a checkpoint is asked through it: the engine restores its model.
  const queryable = runs.filter(
    (r) => QUERYABLE.includes(r.status) || (r.status === 'interrupted' && r.lastCheckpoint),
  );
  const niahRuns = queryable.filter((r) => r.spec.task.kind === 'niah');
  const firstNiah = niahRuns[0]?.spec.task;
  const trainedKey = firstNiah?.kind === 'niah' ? firstNiah.keyLength : 2;
  const defaultLength = firstNiah ? Math.max(16, firstNiah.seqLen - 2 * trainedKey - 2) : 200;

  const [haystack, setHaystack] = useState(() => randomHaystack(defaultLength, 1));
  const [key, setKey] = useState(() => randomKey(trainedKey, 1));
  const [depth, setDepth] = useState(0.3);
  const [genLength, setGenLength] = useState(String(defaultLength));
  const [seed, setSeed] = useState(1);
  const [chosen, setChosen] = useState<Record<string, boolean> | null>(null);
  const [answers, setAnswers] = useState<AnswerState[]>([]);
  const [asking, setAsking] = useState(false);
  const [genError, setGenError] = useState<string | null>(null);
  const T0 = firstNiah?.seqLen ?? 256;
  const [lengthsText, setLengthsText] = useState(`${Math.max(16, T0 / 2)}, ${T0}, ${T0 * 2}`);
  const [depthsText, setDepthsText] = useState('0, 0.25, 0.5, 0.75, 1');
  const [samples, setSamples] = useState('8');
  const [grids, setGrids] = useState<Record<string, GridState>>({});

  const isChosen = (r: RunRecord) => (chosen ? !!chosen[r.id] : r.spec.task.kind === 'niah');
  const selected = queryable.filter(isChosen);
  // The longest haystack every asked NIAH model takes, checked while typing (not after Ask).
  const limit = selected
    .flatMap((r) =>
      r.spec.task.kind === 'niah'
        ? [{ length: maxHaystackLength(r.spec.model.seqLen, r.spec.task.keyLength), model: r.spec.name }]
        : [],
    )
    .sort((a, b) => a.length - b.length)[0];
  const inputErrors = validateNiahInput({ haystack, key, depth, limit });
  const err = (field: string) => inputErrors.filter((e) => e.field === field).map((e) => e.message);
  const lengths = parseIntList(lengthsText, 8, 65536);
  const depths = parseFractionList(depthsText);
  const sampleCount = Number(samples);
  const samplesValid = Number.isInteger(sampleCount) && sampleCount >= 1 && sampleCount <= 1000;
  const genLen = Number(genLength);
  const genValid = Number.isInteger(genLen) && genLen >= 1 && genLen <= 100_000;

  const toggle = (r: RunRecord) => {
    const base: Record<string, boolean> =
      chosen ?? Object.fromEntries(queryable.map((x) => [x.id, x.spec.task.kind === 'niah']));
    setChosen({ ...base, [r.id]: !base[r.id] });
  };

  const generate = async (kind: 'random' | 'corpus') => {
    if (!genValid) return;
    setGenError(null);
    const next = seed + 1;
    setSeed(next);
    if (kind === 'random') {
      setHaystack(randomHaystack(genLen, next));
      return;
    }
    try {
      const { loadCorpusBrowser } = await import('../../tasks/corpus-browser.ts');
      setHaystack(corpusHaystack(await loadCorpusBrowser('moby-dick'), genLen, next));
    } catch (e) {
      setGenError(`Moby Dick could not be loaded: ${errorMessage(e)}`);
    }
  };

  const ask = async () => {
    const client = store.getState().client;
    if (!client || inputErrors.length > 0) return;
    setAsking(true);
    const list = selected;
    setAnswers(list.map((r) => ({ runId: r.id })));
    const results = await Promise.all(
      list.map(async (r): Promise<AnswerState> => {
        try {
          return { runId: r.id, answer: await client.niahQuery({ runId: r.id, haystack, key, depth }) };
        } catch (e) {
          return { runId: r.id, error: errorMessage(e) };
        }
      }),
    );
    setAnswers(results);
    setAsking(false);
  };

  const runGrid = async () => {
    const client = store.getState().client;
    if (!client || lengths.error || depths.error || !samplesValid) return;
    const list = selected;
    setGrids(Object.fromEntries(list.map((r) => [r.id, { loading: true }])));
    for (const r of list) {
      try {
        const cells = await client.niahGrid(r.id, lengths.values, depths.values, sampleCount);
        setGrids((g) => ({ ...g, [r.id]: { cells } }));
      } catch (e) {
        setGrids((g) => ({ ...g, [r.id]: { error: errorMessage(e) } }));
      }
    }
  };

  if (queryable.length === 0) {
    return (
      <div className="empty-state">
        <h3>No trained models to ask yet</h3>
        <p>
          Train a NIAH experiment first (the preset <strong>NIAH: window vs ROSA vs global (tiny)</strong>{' '}
          takes a few minutes). Then hide your own key in your own haystack here, and see which models find
          it, and where ROSA looked.
        </p>
        {runs.some((r) => r.status === 'interrupted') && (
          <p className="hint">
            Runs interrupted by a reload before saving a checkpoint cannot be asked: their models were not
            kept.
          </p>
        )}
      </div>
    );
  }

  return (
    <div className="niah">
      <section className="panel" aria-labelledby="niah-ask">
        <h3 id="niah-ask">Hide a key, ask the models</h3>
        <div className="niah-inputs">
          <div className="field field-wide">
            <label htmlFor="niah-haystack">Haystack ({haystack.length} characters)</label>
            <textarea
              id="niah-haystack"
              rows={5}
              value={haystack}
              onChange={(e) => setHaystack(e.target.value)}
              aria-invalid={err('haystack').length > 0}
              spellCheck={false}
            />
            {err('haystack').map((m) => (
              <p key={m} className="field-error">
                Haystack {m}
              </p>
            ))}
          </div>
          <div className="row wrap">
            <label>
              Length
              <input
                className="narrow"
                value={genLength}
                onChange={(e) => setGenLength(e.target.value)}
                aria-label="Haystack length"
                aria-invalid={!genValid}
              />
            </label>
            <button
              type="button"
              className="secondary small"
              onClick={() => void generate('random')}
              disabled={!genValid}
            >
              Random haystack
            </button>
            <button
              type="button"
              className="secondary small"
              onClick={() => void generate('corpus')}
              disabled={!genValid}
            >
              Moby Dick haystack
            </button>
            {!genValid && (
              <span className="field-error">Length must be a whole number from 1 to 100000.</span>
            )}
            {genError && <span className="error">{genError}</span>}
          </div>
          <div className="row wrap">
            <div className="field">
              <label htmlFor="niah-key">Key (digits)</label>
              <input
                id="niah-key"
                value={key}
                onChange={(e) => setKey(e.target.value.trim())}
                inputMode="numeric"
                aria-invalid={err('key').length > 0}
                className="narrow"
              />
              {err('key').map((m) => (
                <p key={m} className="field-error">
                  Key {m}
                </p>
              ))}
              {firstNiah && key.length !== trainedKey && err('key').length === 0 && (
                <p className="field-hint warn">The NIAH models were trained on {trainedKey}-digit keys.</p>
              )}
            </div>
            <label className="slider">
              Depth
              <input
                type="range"
                min={0}
                max={1}
                step={0.05}
                value={depth}
                onChange={(e) => setDepth(Number(e.target.value))}
                aria-label="Depth"
              />
              <span className="num">{formatPercent(depth)}</span>
            </label>
          </div>
        </div>
        <fieldset className="run-picks" aria-label="Models to ask">
          {queryable.map((r) => (
            <label key={r.id} className={`chip${isChosen(r) ? '' : ' chip-off'}`}>
              <input type="checkbox" checked={isChosen(r)} onChange={() => toggle(r)} />
              <span className="swatch" style={{ background: colors[r.id] }} aria-hidden="true" />
              {r.spec.name}
              {r.spec.task.kind !== 'niah' && <small> ({r.spec.task.kind})</small>}
            </label>
          ))}
        </fieldset>
        <button
          type="button"
          onClick={() => void ask()}
          disabled={!engineReady || asking || inputErrors.length > 0 || selected.length === 0}
        >
          {asking ? 'Asking…' : `Ask ${selected.length} model${selected.length === 1 ? '' : 's'}`}
        </button>
        {!engineReady && <p className="hint">The training engine is not available.</p>}

        <ul className="answers">
          {answers.map((a) => {
            const run = runsById[a.runId];
            const name = run?.spec.name ?? a.runId;
            return (
              <li key={a.runId} className="answer" data-testid="niah-answer" aria-label={`Answer of ${name}`}>
                <div className="answer-head">
                  <span className="swatch" style={{ background: colors[a.runId] }} aria-hidden="true" />
                  <strong>{name}</strong>
                  {a.answer ? (
                    <>
                      <span>
                        answered <code className="answer-text">{a.answer.answer || '∅'}</code>
                      </span>
                      <span className={a.answer.correct ? 'tag tag-ok' : 'tag tag-out'}>
                        {a.answer.correct ? '✓ right' : `✗ wrong (key ${key})`}
                      </span>
                    </>
                  ) : a.error ? (
                    <span className="error">{a.error}</span>
                  ) : (
                    <span className="hint">thinking…</span>
                  )}
                </div>
                {a.answer && <NiahStrip answer={a.answer} keyLength={key.length} />}
              </li>
            );
          })}
        </ul>
      </section>

      <section className="panel" aria-labelledby="niah-grid">
        <h3 id="niah-grid">Accuracy grid</h3>
        <p className="hint">
          Exact-match accuracy over context length × needle depth, with generated haystacks. Lengths beyond
          the trained sequence length test extrapolation.
        </p>
        <div className="row wrap">
          <label>
            Context lengths
            <input
              value={lengthsText}
              onChange={(e) => setLengthsText(e.target.value)}
              aria-label="Context lengths"
              aria-invalid={!!lengths.error}
            />
          </label>
          <label>
            Depths
            <input
              value={depthsText}
              onChange={(e) => setDepthsText(e.target.value)}
              aria-label="Depths"
              aria-invalid={!!depths.error}
            />
          </label>
          <label>
            Samples per cell
            <input
              className="narrow"
              value={samples}
              onChange={(e) => setSamples(e.target.value)}
              aria-label="Samples per cell"
              aria-invalid={!samplesValid}
            />
          </label>
          <button
            type="button"
            onClick={() => void runGrid()}
            disabled={
              !engineReady || !!lengths.error || !!depths.error || !samplesValid || selected.length === 0
            }
          >
            Run grid
          </button>
        </div>
        {lengths.error && <p className="field-error">Context lengths: {lengths.error}</p>}
        {depths.error && <p className="field-error">Depths: {depths.error}</p>}
        {!samplesValid && (
          <p className="field-error">Samples per cell must be a whole number from 1 to 1000.</p>
        )}
        <div className="grids">
          {Object.entries(grids).map(([id, g]) => {
            const name = runsById[id]?.spec.name ?? id;
            if (g.cells) return <NiahGridTable key={id} name={name} cells={g.cells} />;
            return (
              <figure key={id} className="niah-grid">
                <figcaption>{name}</figcaption>
                {g.error ? <p className="error">{g.error}</p> : <p className="hint">running…</p>}
              </figure>
            );
          })}
        </div>
      </section>
    </div>
  );
}
