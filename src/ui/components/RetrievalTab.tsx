// Which earlier positions ROSA retrieved: a canvas heatmap of query position × retrieved
// position for one validation sample and layer (one route or all), over the band the
// attention window can see, with the tokens and contexts of the hovered query. Any run can be
// picked: for a layer without ROSA (every layer of a window, global or LRSA run) only the
// attention heads are shown.

import { useEffect, useMemo, useRef, useState } from 'react';
import { formatPercent } from '../../common/format.ts';
import { hasRosa, rosaLayers } from '../../gpu/model/config.ts';
import type { AttentionMap, EvalMetrics, RetrievalMap } from '../../gpu/train/protocol.ts';
import { downloadBlob } from '../export/download.ts';
import { canvasToPngBlob } from '../export/image.ts';
import { safeFileName } from '../export/metrics.ts';
import { useElementWidth } from '../hooks/useElementWidth.ts';
import {
  axisTicks,
  cellOf,
  contextAround,
  ellipsize,
  positionOfCell,
  type Raster,
  type RouteSelection,
  rasterize,
  retrievalStats,
  retrievalsAt,
  showToken,
  windowBand,
} from '../retrieval/heatmap.ts';
import { usePlayground, usePlaygroundStore } from '../state/context.tsx';
import { errorMessage } from '../state/store.ts';
import type { RunRecord } from '../state/types.ts';
import { AttentionView } from './AttentionView.tsx';
import { GradientCheckPanel } from './GradientCheckPanel.tsx';

const MARGIN = { left: 64, top: 12, right: 12, bottom: 64 };
const MAX_CELLS = 512;

interface Geometry {
  size: number;
  cellPx: number;
}

function drawHeatmap(
  canvas: HTMLCanvasElement,
  map: RetrievalMap,
  raster: Raster,
  geom: Geometry,
  selected: number | null,
  route: RouteSelection,
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const dpr = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1;
  const W = MARGIN.left + geom.size + MARGIN.right;
  const H = MARGIN.top + geom.size + MARGIN.bottom;
  canvas.width = Math.round(W * dpr);
  canvas.height = Math.round(H * dpr);
  canvas.style.width = `${W}px`;
  canvas.style.height = `${H}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#171a21';
  ctx.fillRect(0, 0, W, H);
  const { cells } = raster;
  const px = geom.cellPx;
  const x0 = MARGIN.left;
  const y0 = MARGIN.top;
  ctx.fillStyle = '#0f1115';
  ctx.fillRect(x0, y0, geom.size, geom.size);

  // What attention sees from each query row: t−W+1 … t.
  ctx.fillStyle = 'rgba(96, 165, 250, 0.22)';
  for (let r = 0; r < cells; r++) {
    const t = positionOfCell(r, map.T, cells);
    const band = windowBand(t, map);
    const c0 = cellOf(band.from, map.T, cells);
    const c1 = cellOf(band.to, map.T, cells);
    ctx.fillRect(x0 + c0 * px, y0 + r * px, (c1 - c0 + 1) * px, px);
  }
  // The causal boundary (nothing right of the diagonal can be retrieved).
  ctx.strokeStyle = 'rgba(154, 163, 178, 0.35)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x0 + geom.size, y0 + geom.size);
  ctx.stroke();

  // Retrievals.
  const max = Math.max(1, raster.max);
  for (let r = 0; r < cells; r++) {
    for (let c = 0; c < cells; c++) {
      const v = raster.grid[r * cells + c];
      if (v <= 0) continue;
      const a = 0.35 + 0.65 * (v / max);
      ctx.fillStyle = `rgba(249, 115, 22, ${a.toFixed(3)})`;
      ctx.fillRect(x0 + c * px, y0 + r * px, Math.max(px, 1), Math.max(px, 1));
    }
  }

  // The selected query row and what it retrieved.
  if (selected !== null) {
    const r = cellOf(selected, map.T, cells);
    ctx.strokeStyle = 'rgba(230, 232, 238, 0.8)';
    ctx.strokeRect(x0 + 0.5, y0 + r * px + 0.5, geom.size - 1, Math.max(px, 1));
    ctx.strokeStyle = '#fde68a';
    ctx.lineWidth = 1.5;
    for (const hit of retrievalsAt(map, selected, route)) {
      const c = cellOf(hit.dest, map.T, cells);
      ctx.strokeRect(x0 + c * px - 1, y0 + r * px - 1, Math.max(px, 1) + 2, Math.max(px, 1) + 2);
    }
  }

  // Axes: token labels (all when they fit, else evenly spaced "position:token").
  ctx.fillStyle = '#9aa3b2';
  ctx.font = '11px ui-monospace, SFMono-Regular, Menlo, monospace';
  const maxLabels = Math.max(2, Math.floor(geom.size / 12));
  const ticks = axisTicks(map.T, maxLabels);
  const dense = ticks.length === map.T;
  const label = (t: number) =>
    dense
      ? ellipsize(showToken(map.tokens[t] ?? ''), 4)
      : `${t}:${ellipsize(showToken(map.tokens[t] ?? ''), 4)}`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of ticks) {
    const y = y0 + (cellOf(t, map.T, cells) + 0.5) * px;
    ctx.fillText(label(t), x0 - 4, y);
  }
  for (const t of ticks) {
    const x = x0 + (cellOf(t, map.T, cells) + 0.5) * px;
    ctx.save();
    ctx.translate(x, y0 + geom.size + 4);
    ctx.rotate(-Math.PI / 3);
    ctx.fillText(label(t), 0, 0);
    ctx.restore();
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'alphabetic';
  ctx.fillStyle = '#e6e8ee';
  ctx.fillText('retrieved position →', x0 + geom.size / 2, H - 4);
  ctx.save();
  ctx.translate(12, y0 + geom.size / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('query position →', 0, 0);
  ctx.restore();
}

export function RetrievalHeatmap({ map, route }: { map: RetrievalMap; route: RouteSelection }) {
  const wrapRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const width = useElementWidth(wrapRef, 600);
  const [selected, setSelected] = useState<number | null>(null);
  const raster = useMemo(() => rasterize(map, route, MAX_CELLS), [map, route]);
  const stats = useMemo(() => retrievalStats(map, route), [map, route]);
  const size = Math.max(160, Math.min(640, width - MARGIN.left - MARGIN.right));
  const geom = useMemo(() => ({ size, cellPx: size / raster.cells }), [size, raster.cells]);

  useEffect(() => {
    if (canvasRef.current) drawHeatmap(canvasRef.current, map, raster, geom, selected, route);
  }, [map, raster, geom, selected, route]);

  const t = selected ?? null;
  const onMove = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const cssW = rect.width || MARGIN.left + geom.size + MARGIN.right;
    const scale = (MARGIN.left + geom.size + MARGIN.right) / cssW;
    const y = (e.clientY - rect.top) * scale - MARGIN.top;
    if (y < 0 || y >= geom.size) return;
    const row = Math.floor(y / geom.cellPx);
    setSelected(positionOfCell(row, map.T, raster.cells));
  };

  const hits = t === null ? [] : retrievalsAt(map, t, route);
  const band = t === null ? null : windowBand(t, map);
  const q = t === null ? null : contextAround(map.tokens, t, 12, 0);

  const savePng = async () => {
    if (canvasRef.current) {
      downloadBlob(
        await canvasToPngBlob(canvasRef.current),
        `${safeFileName(`retrieval-${map.runId}-layer${map.layer}`)}.png`,
      );
    }
  };

  return (
    <div className="heatmap" ref={wrapRef}>
      <div className="heatmap-stats" data-testid="retrieval-stats">
        <span>
          {stats.queriesWithRetrieval} of {map.T} query positions retrieved something
        </span>
        <span>
          {formatPercent(stats.retrievals > 0 ? stats.beyondWindow / stats.retrievals : 0)} of{' '}
          {stats.retrievals} retrievals lie beyond the attention window (
          {map.attention === 'global' ? 'global attention' : `W = ${map.window}`})
        </span>
        <span>mean distance {stats.meanDistance.toFixed(1)} tokens</span>
        <button type="button" className="ghost small" onClick={savePng}>
          PNG
        </button>
      </div>
      <div className="heatmap-body">
        <canvas
          ref={canvasRef}
          className="heatmap-canvas"
          role="img"
          aria-label={`Retrievals of layer ${map.layer}: query position by retrieved position, with the attention window band`}
          onMouseMove={onMove}
        />
        <div className="heatmap-legend">
          <span>
            <i className="key key-hit" /> retrieved
          </span>
          <span>
            <i className="key key-band" /> attention can see (t−W+1 … t)
          </span>
        </div>
      </div>
      <label className="slider">
        Query position
        <input
          type="range"
          min={0}
          max={map.T - 1}
          value={t ?? 0}
          onChange={(e) => setSelected(Number(e.target.value))}
          aria-label="Query position"
        />
        <span className="num">{t ?? '—'}</span>
      </label>
      <div className="hover-detail" data-testid="retrieval-detail" aria-live="polite">
        {t === null || !q || !band ? (
          <p className="hint">
            Hover over the heatmap (or move the slider) to see what a query position retrieved.
          </p>
        ) : (
          <>
            <p>
              <strong>Query t = {t}</strong>{' '}
              <code className="context">
                {q.before}
                <mark>{showToken(q.at)}</mark>
              </code>
            </p>
            <p className="hint">
              Attention sees positions {band.from} … {band.to}.
            </p>
            {hits.length === 0 ? (
              <p className="hint">
                No retrieval at this position{route === 'all' ? ' on any route' : ` on route ${route}`}.
              </p>
            ) : (
              <ul className="hits">
                {hits.map((h) => {
                  const c = contextAround(map.tokens, h.dest, 4, 8);
                  const outside = h.dest < band.from;
                  return (
                    <li key={h.dest}>
                      → position {h.dest}{' '}
                      <span className={outside ? 'tag tag-out' : 'tag'}>
                        {outside ? `beyond the window, ${t - h.dest} back` : 'inside the window'}
                      </span>{' '}
                      <span className="hint">
                        route{h.routes.length > 1 ? 's' : ''} {h.routes.join(', ')}
                      </span>
                      <br />
                      <code className="context">
                        {c.before}
                        <mark>{showToken(c.at)}</mark>
                        {c.after}
                      </code>
                    </li>
                  );
                })}
              </ul>
            )}
          </>
        )}
      </div>
    </div>
  );
}

export function RetrievalTab() {
  const store = usePlaygroundStore();
  const order = usePlayground((s) => s.runOrder);
  const runsById = usePlayground((s) => s.runs);
  const engineReady = usePlayground((s) => s.engine.status === 'ready');
  const series = usePlayground((s) => s.series);
  const runs = useMemo(
    () => order.map((id) => runsById[id]).filter((r): r is RunRecord => !!r),
    [order, runsById],
  );
  const [runId, setRunId] = useState<string>('');
  const [sample, setSample] = useState('0');
  const [layer, setLayer] = useState<number | null>(null);
  const [route, setRoute] = useState<RouteSelection>('all');
  const [map, setMap] = useState<RetrievalMap | null>(null);
  // The attention of the same sample and layer, shown under the retrievals.
  const [attention, setAttention] = useState<AttentionMap | null>(null);
  const [attentionError, setAttentionError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const request = useRef(0);

  // Until one is picked: the latest ROSA run, else the latest run.
  const run =
    runs.find((r) => r.id === runId) ?? runs.findLast((r) => hasRosa(r.spec.model)) ?? runs[runs.length - 1];
  const layers = run ? Array.from({ length: run.spec.model.layers }, (_, l) => l) : [];
  const retrievingLayers = run ? rosaLayers(run.spec.model) : [];
  const activeLayer =
    layer !== null && layers.includes(layer) ? layer : (retrievingLayers[0] ?? layers[0] ?? null);
  /** Whether the chosen layer has ROSA: otherwise there are only attention heads to show. */
  const retrieves = activeLayer !== null && retrievingLayers.includes(activeLayer);
  // What was loaded shows while its run and layer stay chosen (not under another run's note).
  const chosen = <M extends { runId: string; layer: number }>(m: M | null): M | null =>
    m && m.runId === run?.id && m.layer === activeLayer ? m : null;
  const shownMap = chosen(map);
  const shownAttention = chosen(attention);
  const sampleNum = Number(sample);
  const sampleValid = Number.isInteger(sampleNum) && sampleNum >= 0 && sampleNum <= 1_000_000;

  const load = async () => {
    if (!run || activeLayer === null || !sampleValid) return;
    const id = ++request.current;
    setLoading(true);
    setError(null);
    setAttentionError(null);
    try {
      const client = store.getState().client;
      if (!client) throw new Error('The training engine is not available');
      if (!retrieves) {
        const a = await client.attentionMap(run.id, sampleNum, activeLayer);
        if (id !== request.current) return;
        setMap(null);
        setAttention(a);
        return;
      }
      // Both queries go to the engine's queue back to back; the attention may fail alone.
      const attentionAnswer = client.attentionMap(run.id, sampleNum, activeLayer).then(
        (a) => ({ ok: true as const, a }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      const m = await client.retrievalMap(run.id, sampleNum, activeLayer);
      const a = await attentionAnswer;
      if (id !== request.current) return;
      setMap(m);
      setRoute((r) => (r === 'all' || r < m.routes ? r : 'all'));
      setAttention(a.ok ? a.a : null);
      if (!a.ok) setAttentionError(errorMessage(a.err));
    } catch (err) {
      if (id === request.current) {
        setError(errorMessage(err));
        setMap(null);
        setAttention(null);
      }
    } finally {
      if (id === request.current) setLoading(false);
    }
  };

  if (runs.length === 0) {
    return (
      <div className="empty-state">
        <h3>No runs yet</h3>
        <p>
          The retrieval inspector shows which earlier positions a ROSA layer retrieved for each token, and
          what each attention head of a layer attends to. Start an experiment (a <strong>window+rosa</strong>{' '}
          or <strong>lrsa+rosa</strong> variant for retrievals), let it train for a while, then come back
          here.
        </p>
      </div>
    );
  }

  return (
    <div className="retrieval">
      <div className="toolbar">
        <label>
          Run
          <select value={run?.id ?? ''} onChange={(e) => setRunId(e.target.value)} aria-label="Run">
            {runs.map((r) => (
              <option key={r.id} value={r.id}>
                {r.spec.name} ({r.status}
                {hasRosa(r.spec.model) ? '' : ', attention only'})
              </option>
            ))}
          </select>
        </label>
        <label>
          Validation sample
          <input
            type="number"
            min={0}
            value={sample}
            onChange={(e) => setSample(e.target.value)}
            aria-label="Validation sample"
            aria-invalid={!sampleValid}
            className="narrow"
          />
        </label>
        <label>
          Layer
          <select
            value={activeLayer ?? ''}
            onChange={(e) => setLayer(Number(e.target.value))}
            aria-label="Layer"
          >
            {layers.map((l) => (
              <option key={l} value={l}>
                layer {l}
                {retrievingLayers.includes(l) ? ' (ROSA)' : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Route
          <select
            value={String(route)}
            onChange={(e) => setRoute(e.target.value === 'all' ? 'all' : Number(e.target.value))}
            aria-label="Route"
            disabled={!map || !retrieves}
          >
            <option value="all">all routes (aggregated)</option>
            {map &&
              Array.from({ length: map.routes }, (_, i) => i).map((r) => (
                <option key={r} value={r}>
                  route {r}
                </option>
              ))}
          </select>
        </label>
        <button type="button" onClick={() => void load()} disabled={!engineReady || loading || !sampleValid}>
          {loading ? 'Loading…' : retrieves ? 'Show retrievals' : 'Show attention'}
        </button>
      </div>
      {run && <NeedleHitsTable evals={series[run.id]?.eval ?? []} />}
      {!sampleValid && <p className="field-error">Validation sample must be a whole number ≥ 0.</p>}
      {!engineReady && (
        <p className="hint">The training engine is not available, so retrievals cannot be computed.</p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {run?.status === 'interrupted' && (
        <p className="hint">
          {run.lastCheckpoint
            ? `This run was interrupted by a reload: its retrievals come from its checkpoint at step ${run.lastCheckpoint.step}.`
            : 'This run was interrupted by a reload before it saved a checkpoint, so its model is gone.'}
        </p>
      )}
      {run && !retrieves && (
        <p className="hint" data-testid="no-retrievals-note">
          {hasRosa(run.spec.model)
            ? `Layer ${activeLayer} of ${run.spec.name} has no ROSA adapter, so it has no retrievals: only its attention heads are shown.`
            : `${run.spec.name} has no ROSA layers (${run.spec.model.variant}), so it has no retrievals: only the attention heads of the layer are shown.`}
        </p>
      )}
      {!shownMap && shownAttention ? (
        <AttentionView map={shownAttention} retrieval={null} />
      ) : shownMap ? (
        <>
          <RetrievalHeatmap map={shownMap} route={route} />
          {shownAttention && <AttentionView map={shownAttention} retrieval={shownMap} />}
          {attentionError && (
            <p className="hint">The attention of this layer could not be shown: {attentionError}</p>
          )}
        </>
      ) : (
        !error && (
          <p className="hint">
            Pick a run, a validation sample and a layer, then press{' '}
            <strong>{retrieves ? 'Show retrievals' : 'Show attention'}</strong>. Orange cells are the
            positions ROSA retrieved; the blue band is what the attention window sees, so orange outside the
            band is information the window alone could not reach. Below them, the attention heads of the same
            layer on the same sample, with ROSA's retrievals marked, so the two mechanisms can be compared.
          </p>
        )
      )}
      {run && hasRosa(run.spec.model) && <GradientCheckPanel run={run} engineReady={engineReady} />}
    </div>
  );
}

/**
 * Whether ROSA retrieves the needle, over training: per evaluation and ROSA layer, the share of
 * routes whose retrieval at the answer position lands on the key (NIAH runs only).
 */
function NeedleHitsTable({ evals }: { evals: readonly EvalMetrics[] }) {
  const rows = evals.filter((e) => e.needleHits && e.needleHits.length > 0);
  if (rows.length === 0) return null;
  const layers = rows[rows.length - 1].needleHits!.map((h) => h.layer);
  return (
    <table className="needle-hits" aria-label="Retrievals landing on the needle">
      <caption>
        Routes whose retrieval at the answer lands on the needle, at the evaluation distance (chance is about
        1 / sequence length)
      </caption>
      <thead>
        <tr>
          <th scope="col">step</th>
          {layers.map((l) => (
            <th key={l} scope="col">
              layer {l}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.slice(-8).map((e) => (
          <tr key={e.step}>
            <td>{e.step}</td>
            {layers.map((l) => (
              <td key={l}>{formatPercent(e.needleHits!.find((h) => h.layer === l)?.share, 1)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
