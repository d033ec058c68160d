// The runs, grouped by experiment, newest first (or sorted by a column, and filtered by text):
// progress with ETA and throughput, the latest numbers, the step-time split, and the controls.
// Ticking two or more runs shows which settings differ between them.

import { useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatMetric,
  formatMs,
  formatPercent,
} from '../../common/format.ts';
import { type SettingDiff, settingsDiff } from '../../config/diff.ts';
import type { Variant } from '../../gpu/model/config.ts';
import type { StepTiming } from '../../gpu/train/protocol.ts';
import { runColors, STEP_TIMING_COLORS } from '../colors.ts';
import { usePlayground } from '../state/context.tsx';
import { etaMs } from '../state/eta.ts';
import { progressOf } from '../state/reduce.ts';
import { filterRuns, RUN_SORT_KEYS, RUN_SORT_LABELS, type RunSortKey, sortRuns } from '../state/run-table.ts';
import type { RunSeries } from '../state/series.ts';
import type { RunRecord } from '../state/types.ts';

const STATUS_LABELS: Record<RunRecord['status'], string> = {
  queued: 'queued',
  running: 'running',
  paused: 'paused',
  stopped: 'stopped',
  finished: 'finished',
  failed: 'failed',
  interrupted: 'interrupted',
};

export function useRunColors(): Record<string, string> {
  // A string key (stable between metric updates) of the run order and variants.
  const key = usePlayground((s) =>
    s.runOrder
      .filter((id) => s.runs[id])
      .map((id) => `${id}\u0000${s.runs[id].spec.model.variant}`)
      .join('\u0001'),
  );
  return useMemo(
    () =>
      runColors(
        key === ''
          ? []
          : key.split('\u0001').map((part) => {
              const [id, variant] = part.split('\u0000');
              return { id, variant: variant as Variant };
            }),
      ),
    [key],
  );
}

export function StepTimingBar({ timing }: { timing: StepTiming }) {
  const parts = [
    { key: 'forward', label: 'forward', ms: timing.forward },
    { key: 'waiting', label: 'waiting for scan', ms: timing.waiting },
    { key: 'backward', label: 'backward', ms: timing.backward },
    { key: 'optimizer', label: 'optimizer', ms: timing.optimizer },
  ] as const;
  const known = parts.reduce((a, p) => a + Math.max(0, p.ms), 0);
  const total = Math.max(timing.total, known, 1e-9);
  const other = Math.max(0, total - known);
  return (
    <details className="timing">
      <summary>
        <span className="timing-bar" role="img" aria-label={`step time ${formatMs(timing.total)}`}>
          {parts.map((p) => (
            <span
              key={p.key}
              style={{
                width: `${(100 * Math.max(0, p.ms)) / total}%`,
                background: STEP_TIMING_COLORS[p.key],
              }}
              title={`${p.label} ${formatMs(p.ms)}`}
            />
          ))}
          {other > 0 && (
            <span
              style={{ width: `${(100 * other) / total}%`, background: STEP_TIMING_COLORS.other }}
              title={`other ${formatMs(other)}`}
            />
          )}
        </span>
        <span className="timing-total">{formatMs(timing.total)} / step</span>
      </summary>
      <table className="table compact">
        <tbody>
          <tr>
            <th>forward</th>
            <td>{formatMs(timing.forward)}</td>
          </tr>
          <tr>
            <th>ROSA scan (CPU workers)</th>
            <td>{formatMs(timing.scan)}</td>
          </tr>
          <tr>
            <th>waiting for the scan</th>
            <td>{formatMs(timing.waiting)}</td>
          </tr>
          <tr>
            <th>scan overlapped with attention</th>
            <td>{formatMs(timing.overlap)}</td>
          </tr>
          <tr>
            <th>backward</th>
            <td>{formatMs(timing.backward)}</td>
          </tr>
          <tr>
            <th>optimizer</th>
            <td>{formatMs(timing.optimizer)}</td>
          </tr>
          <tr>
            <th>total</th>
            <td>{formatMs(timing.total)}</td>
          </tr>
        </tbody>
      </table>
    </details>
  );
}

function lastOf(list: number[]): number | undefined {
  return list.length > 0 ? list[list.length - 1] : undefined;
}

export function RunCard({
  run,
  series,
  color,
  selected = false,
  onSelect,
}: {
  run: RunRecord;
  series: RunSeries | undefined;
  color: string;
  /** Ticked for the settings comparison. */
  selected?: boolean;
  onSelect?: () => void;
}) {
  const [pause, resume, stop, deleteRun] = usePlayground(
    useShallow((s) => [s.pause, s.resume, s.stop, s.deleteRun] as const),
  );
  const progress = progressOf(run);
  const eta = run.status === 'running' ? etaMs(run.rate, run.step, run.totalSteps) : null;
  const lastEval = series?.eval[series.eval.length - 1];
  const loss = series ? lastOf(series.train.loss) : undefined;
  const acc = series ? lastOf(series.train.accuracy) : undefined;
  const done = Math.max(0, run.step);
  return (
    <li className={`run run-${run.status}`} data-testid="run-card" aria-label={run.spec.name}>
      <div className="run-head">
        {onSelect && (
          <input
            type="checkbox"
            className="run-select"
            checked={selected}
            onChange={onSelect}
            aria-label={`Compare ${run.spec.name}`}
            title="Tick two or more runs to see which settings differ"
          />
        )}
        <span className="swatch" style={{ background: color }} aria-hidden="true" />
        <span className="run-name">{run.spec.name}</span>
        <span className={`badge badge-${run.status}`} data-testid="run-status">
          {STATUS_LABELS[run.status]}
        </span>
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-label={`${run.spec.name} progress`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(progress * 100)}
      >
        <div className="progress-fill" style={{ width: `${progress * 100}%`, background: color }} />
      </div>
      <div className="run-stats">
        <span data-testid="run-progress">
          step {formatCount(done)} / {formatCount(run.totalSteps)} · {formatPercent(progress)}
        </span>
        {run.status === 'running' && <span data-testid="run-eta">ETA {formatDuration(eta)}</span>}
        {run.tokensPerSecond !== undefined && <span>{formatCount(run.tokensPerSecond)} tok/s</span>}
      </div>
      {(loss !== undefined || lastEval) && (
        <div className="run-stats">
          {loss !== undefined && <span>loss {formatMetric(loss)}</span>}
          {lastEval && <span>val {formatMetric(lastEval.loss)}</span>}
          {acc !== undefined && <span>acc {formatPercent(acc)}</span>}
          {lastEval && <span>val acc {formatPercent(lastEval.accuracy)}</span>}
        </div>
      )}
      {run.timing && <StepTimingBar timing={run.timing} />}
      {run.message && (
        <p
          className={run.status === 'failed' ? 'error run-message' : 'hint run-message'}
          role={run.status === 'failed' ? 'alert' : undefined}
        >
          {run.message}
        </p>
      )}
      {run.fields && run.fields.length > 0 && (
        <ul className="error run-message">
          {run.fields.map((f) => (
            <li key={`${f.field}:${f.message}`}>
              {f.field} {f.message}
            </li>
          ))}
        </ul>
      )}
      <div className="run-actions">
        {run.status === 'running' && (
          <button type="button" className="secondary small" onClick={() => void pause(run.id)}>
            Pause
          </button>
        )}
        {run.status === 'paused' && (
          <button type="button" className="secondary small" onClick={() => void resume(run.id)}>
            Resume
          </button>
        )}
        {(run.status === 'running' || run.status === 'paused' || run.status === 'queued') && (
          <button type="button" className="secondary small" onClick={() => void stop(run.id)}>
            Stop
          </button>
        )}
        {run.status === 'interrupted' && run.lastCheckpoint && (
          // The engine restores the run from its latest checkpoint and trains on.
          <button type="button" className="small" onClick={() => void resume(run.id)}>
            Resume (from step {run.lastCheckpoint.step})
          </button>
        )}
        <button
          type="button"
          className="ghost small"
          onClick={() => void deleteRun(run.id)}
          aria-label={`Delete ${run.spec.name}`}
          title="Delete this run and its curves"
        >
          Delete
        </button>
        {run.parameters !== undefined && (
          <span className="run-meta">
            {formatCount(run.parameters)} params{run.gpuBytes ? ` · ${formatBytes(run.gpuBytes)} GPU` : ''}
            {run.backend ? ` · ${run.backend}` : ''}
          </span>
        )}
      </div>
    </li>
  );
}

/** Sort keys whose natural first look is the largest value. */
const LARGEST_FIRST = new Set<RunSortKey>(['experiment', 'step', 'accuracy', 'valAccuracy']);

/** The settings that differ between the ticked runs, one column per run. */
function SettingsDiffTable({ runs, onClear }: { runs: RunRecord[]; onClear: () => void }) {
  const rows: SettingDiff[] = useMemo(() => settingsDiff(runs.map((r) => r.spec)), [runs]);
  return (
    <div className="settings-diff">
      <div className="card-head">
        <h3>Settings that differ</h3>
        <button type="button" className="ghost small" onClick={onClear}>
          Clear selection
        </button>
      </div>
      {rows.length === 0 ? (
        <p className="hint">The {runs.length} selected runs have the same settings.</p>
      ) : (
        <table className="table compact" aria-label="Settings that differ">
          <thead>
            <tr>
              <th>setting</th>
              {runs.map((r) => (
                <th key={r.id}>{r.spec.name}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.path} data-path={row.path}>
                <th title={row.path}>{row.label}</th>
                {row.values.map((v, i) => (
                  <td key={runs[i].id}>{v}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function RunList() {
  const experiments = usePlayground((s) => s.experiments);
  const runs = usePlayground((s) => s.runs);
  const series = usePlayground((s) => s.series);
  const hydrated = usePlayground((s) => s.hydrated);
  const deleteExperiment = usePlayground((s) => s.deleteExperiment);
  const clearAll = usePlayground((s) => s.clearAll);
  const colors = useRunColors();
  const [filter, setFilter] = useState('');
  const [sortKey, setSortKey] = useState<RunSortKey>('experiment');
  const [descending, setDescending] = useState(true);
  const [selected, setSelected] = useState<string[]>([]);
  const any = experiments.some((e) => e.runIds.some((id) => runs[id]));

  const allRuns = useMemo(
    () => experiments.flatMap((e) => e.runIds.map((id) => runs[id]).filter((r): r is RunRecord => !!r)),
    [experiments, runs],
  );
  const shown = useMemo(() => new Set(filterRuns(allRuns, filter).map((r) => r.id)), [allRuns, filter]);
  // Series are mutated in place; `runs` changes with every batch of metrics, so the order follows.
  const sorted = useMemo(
    () =>
      sortKey === 'experiment'
        ? []
        : sortRuns(
            allRuns.filter((r) => shown.has(r.id)),
            series,
            sortKey,
            descending,
          ),
    [allRuns, shown, series, sortKey, descending],
  );
  const ticked = useMemo(
    () => selected.map((id) => runs[id]).filter((r): r is RunRecord => !!r),
    [selected, runs],
  );
  const toggle = (id: string) =>
    setSelected((list) => (list.includes(id) ? list.filter((x) => x !== id) : [...list, id]));
  const card = (r: RunRecord) => (
    <RunCard
      key={r.id}
      run={r}
      series={series[r.id]}
      color={colors[r.id] ?? '#e6e8ee'}
      selected={selected.includes(r.id)}
      onSelect={() => toggle(r.id)}
    />
  );
  const ordered = descending ? [...experiments].reverse() : experiments;

  return (
    <section className="card" aria-labelledby="runs-heading">
      <div className="card-head">
        <h2 id="runs-heading">Runs</h2>
        {any && (
          <button
            type="button"
            className="ghost small"
            onClick={() => {
              if (confirm('Delete every run and its curves from this browser? Checkpoints are kept.'))
                void clearAll();
            }}
          >
            Clear all
          </button>
        )}
      </div>
      {any && (
        <div className="toolbar run-toolbar">
          <input
            type="search"
            placeholder="Filter: name, variant, status"
            aria-label="Filter runs"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
          />
          <select
            aria-label="Sort runs by"
            value={sortKey}
            onChange={(e) => {
              const key = e.target.value as RunSortKey;
              setSortKey(key);
              setDescending(LARGEST_FIRST.has(key));
            }}
          >
            {RUN_SORT_KEYS.map((k) => (
              <option key={k} value={k}>
                {RUN_SORT_LABELS[k]}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="ghost small"
            onClick={() => setDescending((d) => !d)}
            aria-label={
              descending ? 'Sorted descending; sort ascending' : 'Sorted ascending; sort descending'
            }
            title="Reverse the order"
          >
            {descending ? '↓' : '↑'}
          </button>
        </div>
      )}
      {ticked.length >= 2 && <SettingsDiffTable runs={ticked} onClear={() => setSelected([])} />}
      {!any ? (
        <p className="empty">
          {hydrated
            ? 'No runs yet. Pick a preset above and press Start: each variant trains as its own run, side by side, and stays here across reloads.'
            : 'Loading earlier runs…'}
        </p>
      ) : shown.size === 0 ? (
        <p className="empty">No run matches “{filter}”.</p>
      ) : sortKey !== 'experiment' ? (
        <ul className="runs" aria-label={`Runs by ${RUN_SORT_LABELS[sortKey]}`}>
          {sorted.map(card)}
        </ul>
      ) : (
        ordered.map((e) => {
          const list = e.runIds.map((id) => runs[id]).filter((r): r is RunRecord => !!r && shown.has(r.id));
          if (list.length === 0) return null;
          return (
            <div key={e.id} className="experiment">
              <div className="experiment-head">
                <span className="experiment-label">{e.label}</span>
                <span className="experiment-summary">{e.summary}</span>
                <button
                  type="button"
                  className="ghost small"
                  aria-label={`Delete experiment ${e.label}`}
                  onClick={() => void deleteExperiment(e.id)}
                >
                  ✕
                </button>
              </div>
              <ul className="runs">{list.map(card)}</ul>
            </div>
          );
        })
      )}
    </section>
  );
}
