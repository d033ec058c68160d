// Loss and accuracy of every run on shared charts (train smoothed, validation dashed), the
// per-position loss of text runs, and the latest numbers in a table.

import { type ReactNode, useMemo, useRef, useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import { type CurveLine, curveLines, latestRows, positionLoss } from '../charts/curves.ts';
import { downloadBlob, downloadText } from '../export/download.ts';
import { svgToPngBlob } from '../export/image.ts';
import { metricsToCsv, metricsToJson, safeFileName } from '../export/metrics.ts';
import { formatCount, formatMetric, formatPercent } from '../format.ts';
import { useElementWidth } from '../hooks/useElementWidth.ts';
import { useThrottled } from '../hooks/useThrottled.ts';
import { usePlayground } from '../state/context.tsx';
import type { RunRecord } from '../state/types.ts';
import { useRunColors } from './RunList.tsx';

const AXIS = '#9aa3b2';
const GRID = '#2a2f3a';
const MAX_POINTS = 600;

export function ChartCard({
  title,
  fileName,
  children,
  help,
}: {
  title: string;
  fileName: string;
  children: ReactNode;
  help?: ReactNode;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const savePng = async () => {
    setError(null);
    const svg = ref.current?.querySelector('svg.recharts-surface') ?? ref.current?.querySelector('svg');
    if (!svg) {
      setError('Nothing drawn yet');
      return;
    }
    try {
      downloadBlob(await svgToPngBlob(svg as SVGSVGElement), `${safeFileName(fileName)}.png`);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section className="chart-card" aria-label={title}>
      <div className="chart-head">
        <h3>{title}</h3>
        <button type="button" className="ghost small" onClick={savePng} title="Download this chart as PNG">
          PNG
        </button>
      </div>
      {help && <p className="hint">{help}</p>}
      {error && <p className="error">{error}</p>}
      <div ref={ref} className="chart-body">
        {children}
      </div>
    </section>
  );
}

function CurveChart({
  lines,
  width,
  log,
  percent,
}: {
  lines: CurveLine[];
  width: number;
  log: boolean;
  percent?: boolean;
}) {
  const fmt = percent ? (v: number) => formatPercent(v) : formatMetric;
  return (
    <LineChart width={width} height={260} margin={{ top: 8, right: 16, bottom: 4, left: 4 }}>
      <CartesianGrid stroke={GRID} strokeDasharray="3 3" />
      <XAxis
        type="number"
        dataKey="x"
        domain={['dataMin', 'dataMax']}
        stroke={AXIS}
        tickFormatter={(v: number) => formatCount(v)}
        allowDuplicatedCategory={false}
        fontSize={12}
      />
      <YAxis
        type="number"
        dataKey="y"
        scale={log ? 'log' : 'auto'}
        domain={log ? ['auto', 'auto'] : percent ? [0, 1] : ['auto', 'auto']}
        allowDataOverflow={log}
        stroke={AXIS}
        tickFormatter={fmt}
        width={56}
        fontSize={12}
      />
      <Tooltip
        contentStyle={{ background: '#0f1115', border: `1px solid ${GRID}`, fontSize: 12 }}
        labelFormatter={(v) => `step ${formatCount(Number(v))}`}
        formatter={(v) => fmt(Number(v))}
      />
      <Legend wrapperStyle={{ fontSize: 12 }} />
      {lines.map((l) => (
        <Line
          key={l.key}
          data={l.points}
          dataKey="y"
          name={l.name}
          stroke={l.color}
          strokeWidth={l.kind === 'train' ? 1.8 : 1.4}
          strokeDasharray={l.kind === 'val' ? '5 4' : undefined}
          dot={l.kind === 'val' && l.points.length < 40 ? { r: 2.5 } : false}
          isAnimationActive={false}
          connectNulls
        />
      ))}
    </LineChart>
  );
}

export function exportMetrics(
  runs: RunRecord[],
  series: Parameters<typeof metricsToCsv>[1],
  format: 'csv' | 'json',
) {
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  if (format === 'csv') downloadText(metricsToCsv(runs, series), `rosa-metrics-${stamp}.csv`, 'text/csv');
  else downloadText(metricsToJson(runs, series), `rosa-metrics-${stamp}.json`, 'application/json');
}

export function CurvesTab() {
  const order = usePlayground((s) => s.runOrder);
  const runsById = usePlayground((s) => s.runs);
  const series = usePlayground((s) => s.series);
  const hidden = usePlayground((s) => s.hidden);
  const toggleHidden = usePlayground((s) => s.toggleHidden);
  const liveVersion = usePlayground((s) => s.seriesVersion);
  // Charts follow the data at most a few times a second, however fast events arrive.
  const version = useThrottled(liveVersion, 400);
  const colors = useRunColors();
  const [smoothing, setSmoothing] = useState(0.6);
  const [log, setLog] = useState(false);
  const bodyRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(bodyRef, 640);

  const allRuns = useMemo(
    () => order.map((id) => runsById[id]).filter((r): r is RunRecord => !!r),
    [order, runsById],
  );
  const visible = useMemo(() => allRuns.filter((r) => !hidden[r.id]), [allRuns, hidden]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: series are mutated in place; `version` says when
  const charts = useMemo(() => {
    const opts = { smoothing, log, maxPoints: MAX_POINTS };
    return {
      loss: curveLines(visible, series, colors, { ...opts, metric: 'loss' }),
      accuracy: curveLines(visible, series, colors, { ...opts, metric: 'accuracy', log: false }),
      position: positionLoss(visible, series),
      latest: latestRows(visible, series, colors, smoothing),
    };
  }, [visible, series, colors, smoothing, log, version]);

  if (allRuns.length === 0) {
    return (
      <div className="empty-state">
        <h3>No curves yet</h3>
        <p>
          Pick <strong>NIAH: window vs ROSA vs global (tiny)</strong> on the left and press{' '}
          <strong>Start</strong>. The training loss of each variant appears here within seconds; validation
          points follow every few dozen steps.
        </p>
        <p className="hint">
          What to look for: the windowed model plateaus (the needle is outside its window), while ROSA and
          global attention keep going down.
        </p>
      </div>
    );
  }

  const hasData = charts.loss.length > 0;
  return (
    <div className="curves" ref={bodyRef}>
      <div className="toolbar">
        <label className="slider">
          Smoothing
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={smoothing}
            onChange={(e) => setSmoothing(Number(e.target.value))}
            aria-label="Smoothing"
          />
          <span className="num">{smoothing.toFixed(2)}</span>
        </label>
        <label className="check">
          <input type="checkbox" checked={log} onChange={(e) => setLog(e.target.checked)} />
          log-scale loss
        </label>
        <span className="spacer" />
        <button
          type="button"
          className="secondary small"
          onClick={() => exportMetrics(allRuns, series, 'csv')}
        >
          Export CSV
        </button>
        <button
          type="button"
          className="secondary small"
          onClick={() => exportMetrics(allRuns, series, 'json')}
        >
          Export JSON
        </button>
      </div>

      <fieldset className="legend-chips" aria-label="Runs shown">
        {allRuns.map((r) => (
          <label key={r.id} className={`chip${hidden[r.id] ? ' chip-off' : ''}`}>
            <input type="checkbox" checked={!hidden[r.id]} onChange={() => toggleHidden(r.id)} />
            <span className="swatch" style={{ background: colors[r.id] }} aria-hidden="true" />
            {r.spec.name}
          </label>
        ))}
      </fieldset>

      {!hasData ? (
        <p className="empty">Waiting for the first training steps…</p>
      ) : (
        <>
          <ChartCard
            title="Loss"
            fileName="loss"
            help="Solid: training loss (smoothed). Dashed: validation loss."
          >
            <CurveChart lines={charts.loss} width={width - 2} log={log} />
          </ChartCard>
          <ChartCard
            title="Accuracy"
            fileName="accuracy"
            help="Next-token accuracy on the scored positions (for NIAH and MQAR: the answers)."
          >
            <CurveChart lines={charts.accuracy} width={width - 2} log={false} percent />
          </ChartCard>
        </>
      )}

      {charts.position.runIds.length > 0 && (
        <ChartCard
          title="Validation loss by position"
          fileName="loss-by-position"
          help="Latest evaluation; positions are bucketed by powers of two. Where long context helps, late positions get lower loss."
        >
          <LineChart
            width={width - 2}
            height={240}
            data={charts.position.rows}
            margin={{ top: 8, right: 16, bottom: 4, left: 4 }}
          >
            <CartesianGrid stroke={GRID} strokeDasharray="3 3" />
            <XAxis dataKey="bucket" stroke={AXIS} fontSize={12} />
            <YAxis
              stroke={AXIS}
              tickFormatter={formatMetric}
              width={56}
              fontSize={12}
              domain={['auto', 'auto']}
            />
            <Tooltip
              contentStyle={{ background: '#0f1115', border: `1px solid ${GRID}`, fontSize: 12 }}
              formatter={(v) => formatMetric(Number(v))}
            />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            {charts.position.runIds.map((id) => (
              <Line
                key={id}
                dataKey={id}
                name={runsById[id]?.spec.name ?? id}
                stroke={colors[id]}
                isAnimationActive={false}
                dot={{ r: 2.5 }}
              />
            ))}
          </LineChart>
        </ChartCard>
      )}

      <table className="table latest" aria-label="Latest numbers">
        <thead>
          <tr>
            <th>run</th>
            <th>step</th>
            <th>train loss</th>
            <th>val loss</th>
            <th>train acc</th>
            <th>val acc</th>
          </tr>
        </thead>
        <tbody>
          {charts.latest.map((row) => (
            <tr key={row.runId}>
              <td>
                <span className="swatch" style={{ background: row.color }} aria-hidden="true" /> {row.name}
              </td>
              <td>{row.step === null ? '—' : formatCount(row.step)}</td>
              <td>{formatMetric(row.trainLoss)}</td>
              <td>{formatMetric(row.valLoss)}</td>
              <td>{formatPercent(row.trainAccuracy, 1)}</td>
              <td>{formatPercent(row.valAccuracy, 1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
