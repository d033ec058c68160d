// What the attention heads of a layer attend to, beside ROSA's retrievals for the same sample
// and layer: one query × key heatmap per head (softmax probabilities; the band attention can
// see underneath, ROSA's retrieved positions marked on top), and per head how far back it
// looks and how much weight it puts where ROSA retrieved from.

import { useEffect, useMemo, useRef, useState } from 'react';
import { formatPercent } from '../../common/format.ts';
import type { AttentionMap, RetrievalMap } from '../../gpu/train/protocol.ts';
import { useElementWidth } from '../hooks/useElementWidth.ts';
import { type AttentionRaster, headStats, rasterizeAttention, topKeys } from '../retrieval/attention.ts';
import { cellOf, positionOfCell, showToken, windowBand } from '../retrieval/heatmap.ts';

const MAX_CELLS = 256;
const PAD = 4;

function drawHead(
  canvas: HTMLCanvasElement,
  map: AttentionMap,
  raster: AttentionRaster,
  size: number,
  retrieval: RetrievalMap | null,
  selected: number | null,
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const dpr = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1;
  const W = size + 2 * PAD;
  canvas.width = Math.round(W * dpr);
  canvas.height = Math.round(W * dpr);
  canvas.style.width = `${W}px`;
  canvas.style.height = `${W}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#171a21';
  ctx.fillRect(0, 0, W, W);
  const { cells, grid } = raster;
  const px = size / cells;
  ctx.fillStyle = '#0f1115';
  ctx.fillRect(PAD, PAD, size, size);
  // The band this layer's attention may see (the whole causal triangle for global and LRSA;
  // LRSA's zeros inside it are the keys LagKV dropped).
  ctx.fillStyle = 'rgba(96, 165, 250, 0.16)';
  for (let r = 0; r < cells; r++) {
    const band = windowBand(positionOfCell(r, map.T, cells), map);
    const c0 = cellOf(band.from, map.T, cells);
    const c1 = cellOf(band.to, map.T, cells);
    ctx.fillRect(PAD + c0 * px, PAD + r * px, (c1 - c0 + 1) * px, px);
  }
  // Probabilities: the square root lifts the small weights of a spread-out head into view.
  for (let r = 0; r < cells; r++) {
    for (let c = 0; c <= r; c++) {
      const p = grid[r * cells + c];
      if (p <= 0.002) continue;
      ctx.fillStyle = `rgba(167, 139, 250, ${Math.min(1, Math.sqrt(p)).toFixed(3)})`;
      ctx.fillRect(PAD + c * px, PAD + r * px, Math.max(px, 1), Math.max(px, 1));
    }
  }
  // ROSA's retrievals of the same sample: small orange marks.
  if (retrieval && retrieval.T === map.T) {
    ctx.fillStyle = 'rgba(249, 115, 22, 0.9)';
    const mark = Math.max(1.5, px / 2);
    for (let rt = 0; rt < retrieval.routes; rt++) {
      for (let t = 0; t < map.T; t++) {
        const d = retrieval.dest[rt * map.T + t];
        if (d < 0) continue;
        const x = PAD + (cellOf(d, map.T, cells) + 0.5) * px - mark / 2;
        const y = PAD + (cellOf(t, map.T, cells) + 0.5) * px - mark / 2;
        ctx.fillRect(x, y, mark, mark);
      }
    }
  }
  if (selected !== null) {
    const r = cellOf(selected, map.T, cells);
    ctx.strokeStyle = 'rgba(230, 232, 238, 0.8)';
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD + 0.5, PAD + r * px + 0.5, size - 1, Math.max(px, 1));
  }
}

function HeadHeatmap(props: {
  map: AttentionMap;
  head: number;
  size: number;
  retrieval: RetrievalMap | null;
  selected: number | null;
  onSelect: (t: number) => void;
}) {
  const { map, head, size, retrieval, selected, onSelect } = props;
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const raster = useMemo(() => rasterizeAttention(map, head, MAX_CELLS), [map, head]);
  useEffect(() => {
    if (canvasRef.current) drawHead(canvasRef.current, map, raster, size, retrieval, selected);
  }, [map, raster, size, retrieval, selected]);
  const onMove = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const scale = (size + 2 * PAD) / (rect.height || size + 2 * PAD);
    const y = (e.clientY - rect.top) * scale - PAD;
    if (y < 0 || y >= size) return;
    onSelect(positionOfCell(Math.floor(y / (size / raster.cells)), map.T, raster.cells));
  };
  return (
    <figure>
      <canvas
        ref={canvasRef}
        className="heatmap-canvas"
        role="img"
        aria-label={`Attention of head ${head}, layer ${map.layer}: query position by key position`}
        onMouseMove={onMove}
      />
      <figcaption>head {head}</figcaption>
    </figure>
  );
}

export function AttentionView({ map, retrieval }: { map: AttentionMap; retrieval: RetrievalMap | null }) {
  const wrapRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(wrapRef, 600);
  const [selected, setSelected] = useState<number | null>(null);
  const stats = useMemo(() => headStats(map, retrieval), [map, retrieval]);
  const perRow = Math.min(map.heads, width >= 700 ? 4 : 2);
  const size = Math.max(120, Math.min(320, Math.floor((width - 16 * perRow) / perRow) - 2 * PAD));
  const compared = stats.some((s) => s.onRetrieved !== null);
  const kind =
    map.attention === 'window'
      ? `windowed attention, W = ${map.window}`
      : map.attention === 'lrsa'
        ? 'LRSA: recent chunks plus the keys LagKV kept (probabilities recomputed from this layer’s q, k and v)'
        : 'global attention';

  return (
    <div className="attention-view" ref={wrapRef} data-testid="attention-view">
      <h4>
        Attention of layer {map.layer} ({kind})
      </h4>
      <table className="needle-hits" aria-label="Attention heads">
        <thead>
          <tr>
            <th scope="col">head</th>
            <th scope="col">mean distance</th>
            <th scope="col">peak weight</th>
            {compared && <th scope="col">weight on ROSA’s retrievals</th>}
          </tr>
        </thead>
        <tbody>
          {stats.map((s) => (
            <tr key={s.head}>
              <td>{s.head}</td>
              <td>{s.meanDistance.toFixed(1)} tokens</td>
              <td>{formatPercent(s.peak, 0)}</td>
              {compared && <td>{s.onRetrieved === null ? '—' : formatPercent(s.onRetrieved, 1)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="heatmap-body">
        <div className="attention-heads">
          {stats.map((s) => (
            <HeadHeatmap
              key={s.head}
              map={map}
              head={s.head}
              size={size}
              retrieval={retrieval}
              selected={selected}
              onSelect={setSelected}
            />
          ))}
        </div>
        <div className="heatmap-legend">
          <span>
            <i className="key key-attn" /> attention probability
          </span>
          <span>
            <i className="key key-band" /> keys attention may see
          </span>
          {retrieval && (
            <span>
              <i className="key key-hit" /> ROSA retrieved
            </span>
          )}
        </div>
      </div>
      <label className="slider">
        Attention query
        <input
          type="range"
          min={0}
          max={map.T - 1}
          value={selected ?? 0}
          onChange={(e) => setSelected(Number(e.target.value))}
          aria-label="Attention query position"
        />
        <span className="num">{selected ?? '—'}</span>
      </label>
      <div className="hover-detail" data-testid="attention-detail" aria-live="polite">
        {selected === null ? (
          <p className="hint">
            Hover over a head (or move the slider) to see the keys a query attends to most.
          </p>
        ) : (
          <>
            <p>
              <strong>Query t = {selected}</strong> ({showToken(map.tokens[selected] ?? '')}); attention may
              see {windowBand(selected, map).from} … {selected}
            </p>
            <ul className="hits">
              {stats.map((s) => (
                <li key={s.head}>
                  head {s.head}:{' '}
                  {topKeys(map, s.head, selected, 3)
                    .map((k) => `${k.u} (${showToken(map.tokens[k.u] ?? '')}) ${formatPercent(k.p, 0)}`)
                    .join(', ')}
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
    </div>
  );
}
