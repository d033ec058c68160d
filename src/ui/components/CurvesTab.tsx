// Loss and accuracy of every run on shared charts (train smoothed, validation dashed), the
// per-position loss of text runs, and the latest numbers in a table.

import { type ReactNode, useDeferredValue, useMemo, useRef, useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount, formatMetric, formatPercent } from '../../common/format.ts';
import type { Spread } from '../../common/seeds.ts';
import { curveLines, latestGroupRows, positionLoss } from '../charts/curves.ts';
import { downloadBlob, downloadText } from '../export/download.ts';
import { svgToPngBlob } from '../export/image.ts';
import { metricsToCsv, metricsToJson, safeFileName } from '../export/metrics.ts';
import { useElementWidth } from '../hooks/useElementWidth.ts';
import { useThrottled } from '../hooks/useThrottled.ts';
import { usePlayground, usePlaygroundStore } from '../state/context.tsx';
import type { RunRecord } from '../state/types.ts';
import { CurveChart } from './CurveChart.tsx';
import { useRunColors } from './RunList.tsx';

const AXIS = '#9aa3b2';
const GRID = '#2a2f3a';
/** Points per line: plenty for a chart under 1000 px wide. */
const MAX_POINTS = 300;
/** How often the charts follow new data. */
const CHART_REFRESH_MS = 1000;

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

/** Re-renders when new metrics arrived, at most once per CHART_REFRESH_MS, at its own phase. */
function useSeriesTick(phaseMs: number): number {
  const live = usePlayground((s) => s.seriesVersion);
  return useThrottled(live, CHART_REFRESH_MS, phaseMs);
}

interface LiveChartProps {
  runs: RunRecord[];
  metric: 'loss' | 'accuracy';
  smoothing: number;
  log: boolean;
  width: number;
  /** Offset of this chart's refreshes, so that two charts never update in the same task. */
  phaseMs: number;
}

function LiveCurveChart({ runs, metric, smoothing, log, width, phaseMs }: LiveChartProps) {
  const series = usePlayground((s) => s.series);
  const colors = useRunColors();
  const tick = useSeriesTick(phaseMs);
  // biome-ignore lint/correctness/useExhaustiveDependencies: series are mutated in place; `tick` says when
  const lines = useMemo(
    () => curveLines(runs, series, colors, { metric, smoothing, log, maxPoints: MAX_POINTS }),
    [runs, series, colors, metric, smoothing, log, tick],
  );
  // Rendered at transition priority: React time-slices it instead of blocking input.
  const deferred = useDeferredValue(lines);
  return (
    <CurveChart
      lines={deferred}
      width={width}
      log={log}
      percent={metric === 'accuracy'}
      label={metric === 'loss' ? 'Loss curves' : 'Accuracy curves'}
    />
  );
}

function PositionLossChart({
  runs,
  colors,
  width,
}: {
  runs: RunRecord[];
  colors: Record<string, string>;
  width: number;
}) {
  const series = usePlayground((s) => s.series);
  const tick = useSeriesTick(CHART_REFRESH_MS / 4);
  // biome-ignore lint/correctness/useExhaustiveDependencies: series are mutated in place; `tick` says when
  const data = useMemo(() => positionLoss(runs, series), [runs, series, tick]);
  if (data.runIds.length === 0) return null;
  return (
    <ChartCard
      title="Validation loss by position"
      fileName="loss-by-position"
      help="Latest evaluation; positions are bucketed by powers of two. Where long context helps, late positions get lower loss."
    >
      <LineChart
        width={width}
        height={240}
        data={data.rows}
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
        {data.runIds.map((id) => (
          <Line
            key={id}
            dataKey={id}
            name={runs.find((r) => r.id === id)?.spec.name ?? id}
            stroke={colors[id]}
            isAnimationActive={false}
            dot={{ r: 2.5 }}
          />
        ))}
      </LineChart>
    </ChartCard>
  );
}

function LatestTable({
  runs,
  colors,
  smoothing,
}: {
  runs: RunRecord[];
  colors: Record<string, string>;
  smoothing: number;
}) {
  const series = usePlayground((s) => s.series);
  const tick = useSeriesTick((3 * CHART_REFRESH_MS) / 4);
  // biome-ignore lint/correctness/useExhaustiveDependencies: series are mutated in place; `tick` says when
  const rows = useMemo(
    () => latestGroupRows(runs, series, colors, smoothing),
    [runs, series, colors, smoothing, tick],
  );
  const repeated = rows.some((r) => r.n > 1);
  return (
    <table className="table latest" aria-label="Latest numbers">
      <thead>
        <tr>
          <th>run</th>
          <th>step</th>
          <th>train loss</th>
          <th>val loss</th>
          <th>train acc</th>
          <th>val acc</th>
          {repeated && <th title="runs (seeds) in the row; their mean ± sample standard deviation">seeds</th>}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key}>
            <td>
              <span className="swatch" style={{ background: row.color }} aria-hidden="true" /> {row.name}
            </td>
            <td>{row.step === null ? '—' : formatCount(row.step)}</td>
            <SpreadCell value={row.trainLoss} format={formatMetric} />
            <SpreadCell value={row.valLoss} format={formatMetric} />
            <SpreadCell value={row.trainAccuracy} format={(v) => formatPercent(v, 1)} />
            <SpreadCell value={row.valAccuracy} format={(v) => formatPercent(v, 1)} />
            {repeated && <td>{row.n}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One number, or over seeds its mean ± sd with the min–max range on hover. */
function SpreadCell({ value, format }: { value: Spread | null; format: (v: number | null) => string }) {
  if (!value) return <td>{format(null)}</td>;
  if (value.n < 2) return <td>{format(value.mean)}</td>;
  return (
    <td title={`min ${format(value.min)}, max ${format(value.max)} over ${value.n} seeds`}>
      {format(value.mean)} ± {format(value.sd)}
    </td>
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

/** The runs in order, as records; changes only when runs are added, removed or renamed. */
function useRunsInOrder(): RunRecord[] {
  const store = usePlaygroundStore();
  const key = usePlayground((s) =>
    s.runOrder
      .filter((id) => s.runs[id])
      .map((id) => `${id}\u0000${s.runs[id].spec.name}`)
      .join('\u0001'),
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` says when the list changes
  return useMemo(() => {
    const { runOrder, runs } = store.getState();
    return runOrder.map((id) => runs[id]).filter((r): r is RunRecord => !!r);
  }, [key, store]);
}

export function CurvesTab() {
  const store = usePlaygroundStore();
  const hidden = usePlayground((s) => s.hidden);
  const toggleHidden = usePlayground((s) => s.toggleHidden);
  const colors = useRunColors();
  const [smoothing, setSmoothing] = useState(0.6);
  const [log, setLog] = useState(false);
  const bodyRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(bodyRef, 640);

  const allRuns = useRunsInOrder();
  const hasData = usePlayground((s) =>
    s.runOrder.some((id) => !s.hidden[id] && (s.series[id]?.train.step.length ?? 0) > 0),
  );
  const visible = useMemo(() => allRuns.filter((r) => !hidden[r.id]), [allRuns, hidden]);
  const exportAll = (format: 'csv' | 'json') => {
    const { runOrder, runs, series: current } = store.getState();
    exportMetrics(
      runOrder.map((id) => runs[id]).filter((r): r is RunRecord => !!r),
      current,
      format,
    );
  };

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
        <button type="button" className="secondary small" onClick={() => exportAll('csv')}>
          Export CSV
        </button>
        <button type="button" className="secondary small" onClick={() => exportAll('json')}>
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
            <LiveCurveChart
              runs={visible}
              metric="loss"
              smoothing={smoothing}
              log={log}
              width={width - 2}
              phaseMs={0}
            />
          </ChartCard>
          <ChartCard
            title="Accuracy"
            fileName="accuracy"
            help="Next-token accuracy on the scored positions (for NIAH and MQAR: the answers)."
          >
            <LiveCurveChart
              runs={visible}
              metric="accuracy"
              smoothing={smoothing}
              log={false}
              width={width - 2}
              phaseMs={CHART_REFRESH_MS / 2}
            />
          </ChartCard>
        </>
      )}

      <PositionLossChart runs={visible} colors={colors} width={width - 2} />

      <LatestTable runs={visible} colors={colors} smoothing={smoothing} />
    </div>
  );
}
