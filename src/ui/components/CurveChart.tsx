// The live loss/accuracy chart: plain SVG laid out from charts/axes.ts. It redraws every second
// while runs train, so it stays small: one path per line, a few ticks, a hover read-out.

import { memo, useMemo, useState } from 'react';
import { formatCount, formatMetric, formatPercent } from '../../common/format.ts';
import {
  bandPath,
  type Extent,
  extentOf,
  linearTicks,
  linePath,
  logDomain,
  logTicks,
  makeScale,
  nearestIndex,
  niceDomain,
} from '../charts/axes.ts';
import type { CurveLine } from '../charts/curves.ts';

const AXIS = '#9aa3b2';
const GRID = '#2a2f3a';
const MARGIN = { top: 10, right: 16, bottom: 26, left: 58 };

interface Props {
  /** From curveLines: finite points, and only positive ones when `log`. */
  lines: CurveLine[];
  width: number;
  height?: number;
  log: boolean;
  percent?: boolean;
  /** Accessible name of the chart. */
  label: string;
}

interface Layout {
  sx: (v: number) => number;
  sy: (v: number) => number;
  xTicks: number[];
  yTicks: number[];
  xDomain: Extent;
  paths: Array<{ line: CurveLine; d: string }>;
  /** Min–max areas of lines that average seeds, drawn under the lines. */
  bands: Array<{ line: CurveLine; d: string }>;
}

function layout(
  lines: CurveLine[],
  width: number,
  height: number,
  log: boolean,
  percent: boolean,
): Layout | null {
  // The bands' edges count for the extent too, so a band is never cut off.
  const edges = lines.map((l) => ({
    points: (l.band ?? []).flatMap((b) => [
      { x: b.x, y: b.lo },
      { x: b.x, y: b.hi },
    ]),
  }));
  const xs = extentOf([...lines, ...edges], (p) => p.x);
  const ys = extentOf([...lines, ...edges], (p) => p.y, log);
  if (!xs || !ys) return null;
  const xDomain = xs.min === xs.max ? { min: xs.min - 1, max: xs.max + 1 } : xs;
  const plotW = Math.max(10, width - MARGIN.left - MARGIN.right);
  const plotH = Math.max(10, height - MARGIN.top - MARGIN.bottom);
  const yCount = Math.max(2, Math.round(plotH / 45));
  const yDomain = log ? logDomain(ys) : percent ? { min: 0, max: 1 } : niceDomain(ys, yCount);
  const sx = makeScale(xDomain, MARGIN.left, MARGIN.left + plotW);
  const sy = makeScale(yDomain, MARGIN.top + plotH, MARGIN.top, log);
  const paths = lines.map((line) => ({ line, d: linePath(line.points, sx, sy) }));
  const bands = lines
    .filter((line) => line.band && line.band.length > 1)
    .map((line) => ({ line, d: bandPath(line.band!, sx, sy) }));
  return {
    sx,
    sy,
    xDomain,
    // Steps are whole numbers: no ticks between them.
    xTicks: linearTicks(xDomain, Math.max(2, Math.round(plotW / 90)), 1),
    yTicks: log ? logTicks(yDomain) : linearTicks(yDomain, yCount),
    paths,
    bands,
  };
}

export const CurveChart = memo(function CurveChart({
  lines,
  width,
  height = 260,
  log,
  percent = false,
  label,
}: Props) {
  const chart = useMemo(
    () => layout(lines, width, height, log, percent),
    [lines, width, height, log, percent],
  );
  const [hoverX, setHoverX] = useState<number | null>(null);
  const fmt = percent ? (v: number) => formatPercent(v, 1) : formatMetric;
  const tickFmt = percent ? (v: number) => formatPercent(v) : formatMetric;
  if (!chart) {
    return (
      <svg width={width} height={height} role="img" aria-label={`${label}: no data yet`}>
        <text x={width / 2} y={height / 2} fill={AXIS} fontSize={12} textAnchor="middle">
          No finite values to draw yet
        </text>
      </svg>
    );
  }
  const { sx, sy, xTicks, yTicks, paths, bands, xDomain } = chart;
  const bottom = height - MARGIN.bottom;
  const right = width - MARGIN.right;

  // Hover: the step under the pointer, and each line's nearest point to it.
  const readout =
    hoverX === null
      ? null
      : paths
          .map(({ line }) => {
            const i = nearestIndex(line.points, hoverX);
            if (i < 0) return null;
            // A mean over seeds also reads out its min–max at that step.
            const b = line.band
              ? nearestIndex(
                  line.band.map((p) => ({ x: p.x, y: p.lo })),
                  hoverX,
                )
              : -1;
            return { line, point: line.points[i], range: b < 0 ? undefined : line.band![b] };
          })
          .filter((r) => r !== null);
  const onMove = (e: React.MouseEvent<SVGSVGElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    const px = e.clientX - box.left;
    if (px < MARGIN.left || px > right) {
      setHoverX(null);
      return;
    }
    const frac = (px - MARGIN.left) / (right - MARGIN.left);
    setHoverX(xDomain.min + frac * (xDomain.max - xDomain.min));
  };
  const tipLeft = hoverX !== null && sx(hoverX) > width * 0.6;

  return (
    <div className="curve-chart" style={{ width, height }}>
      <svg
        width={width}
        height={height}
        role="img"
        aria-label={label}
        onMouseMove={onMove}
        onMouseLeave={() => setHoverX(null)}
      >
        <g className="grid" stroke={GRID} strokeDasharray="3 3">
          {yTicks.map((v) => (
            <line key={`y${v}`} x1={MARGIN.left} x2={right} y1={sy(v)} y2={sy(v)} />
          ))}
          {xTicks.map((v) => (
            <line key={`x${v}`} x1={sx(v)} x2={sx(v)} y1={MARGIN.top} y2={bottom} />
          ))}
        </g>
        <g fill={AXIS} fontSize={12} fontFamily="system-ui, sans-serif">
          {yTicks.map((v) => (
            <text key={`yl${v}`} x={MARGIN.left - 6} y={sy(v) + 4} textAnchor="end">
              {tickFmt(v)}
            </text>
          ))}
          {xTicks.map((v) => (
            <text key={`xl${v}`} x={sx(v)} y={bottom + 16} textAnchor="middle">
              {formatCount(v)}
            </text>
          ))}
        </g>
        <path d={`M${MARGIN.left} ${MARGIN.top}V${bottom}H${right}`} stroke={AXIS} fill="none" />
        {bands.map(({ line, d }) => (
          <path
            key={`${line.key}:band`}
            d={d}
            fill={line.color}
            fillOpacity={line.kind === 'train' ? 0.18 : 0.1}
            stroke="none"
            data-testid="seed-band"
          >
            <title>{`${line.name}: min–max over ${line.seeds} seeds`}</title>
          </path>
        ))}
        {paths.map(({ line, d }) => (
          <path
            key={line.key}
            d={d}
            fill="none"
            stroke={line.color}
            strokeWidth={line.kind === 'train' ? 1.8 : 1.4}
            strokeDasharray={line.kind === 'val' ? '5 4' : undefined}
            strokeLinejoin="round"
          >
            <title>{line.name}</title>
          </path>
        ))}
        {readout && hoverX !== null && (
          <g>
            <line
              x1={sx(hoverX)}
              x2={sx(hoverX)}
              y1={MARGIN.top}
              y2={bottom}
              stroke={AXIS}
              strokeWidth={0.8}
            />
            {readout.map(({ line, point }) => (
              <circle key={line.key} cx={sx(point.x)} cy={sy(point.y)} r={3} fill={line.color} />
            ))}
          </g>
        )}
      </svg>
      {readout && hoverX !== null && readout.length > 0 && (
        <div
          className="chart-tooltip"
          style={tipLeft ? { right: width - sx(hoverX) + 10 } : { left: sx(hoverX) + 10 }}
        >
          <div className="chart-tooltip-step">step {formatCount(readout[0].point.x)}</div>
          {readout.map(({ line, point, range }) => (
            <div key={line.key}>
              <span className="swatch" style={{ background: line.color }} aria-hidden="true" /> {line.name}:{' '}
              {fmt(point.y)}
              {range && (
                <span className="muted">
                  {' '}
                  ({fmt(range.lo)}–{fmt(range.hi)})
                </span>
              )}{' '}
              <span className="muted">@{formatCount(point.x)}</span>
            </div>
          ))}
        </div>
      )}
    </div>
  );
});
