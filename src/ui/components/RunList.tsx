// The runs, grouped by experiment, newest first: progress with ETA and throughput, the
// latest numbers, the step-time split, and the controls.

import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatMetric,
  formatMs,
  formatPercent,
} from '../../common/format.ts';
import type { Variant } from '../../gpu/model/config.ts';
import type { StepTiming } from '../../gpu/train/protocol.ts';
import { runColors, STEP_TIMING_COLORS } from '../colors.ts';
import { usePlayground } from '../state/context.tsx';
import { etaMs } from '../state/eta.ts';
import { progressOf } from '../state/reduce.ts';
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
}: {
  run: RunRecord;
  series: RunSeries | undefined;
  color: string;
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

export function RunList() {
  const experiments = usePlayground((s) => s.experiments);
  const runs = usePlayground((s) => s.runs);
  const series = usePlayground((s) => s.series);
  const hydrated = usePlayground((s) => s.hydrated);
  const deleteExperiment = usePlayground((s) => s.deleteExperiment);
  const clearAll = usePlayground((s) => s.clearAll);
  const colors = useRunColors();
  const newestFirst = [...experiments].reverse();
  const any = experiments.some((e) => e.runIds.some((id) => runs[id]));

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
      {!any ? (
        <p className="empty">
          {hydrated
            ? 'No runs yet. Pick a preset above and press Start: each variant trains as its own run, side by side, and stays here across reloads.'
            : 'Loading earlier runs…'}
        </p>
      ) : (
        newestFirst.map((e) => {
          const list = e.runIds.map((id) => runs[id]).filter((r): r is RunRecord => !!r);
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
              <ul className="runs">
                {list.map((r) => (
                  <RunCard key={r.id} run={r} series={series[r.id]} color={colors[r.id] ?? '#e6e8ee'} />
                ))}
              </ul>
            </div>
          );
        })
      )}
    </section>
  );
}
