import { describe, expect, it } from 'vitest';
import { defaultModelConfig } from '../../../src/gpu/model/config.ts';
import type { RunSpec } from '../../../src/gpu/train/protocol.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';
import { curveLines, latestGroupRows, latestRows, positionLoss } from '../../../src/ui/charts/curves.ts';
import { appendEval, appendStep, emptySeries, type RunSeries } from '../../../src/ui/state/series.ts';
import type { RunRecord } from '../../../src/ui/state/types.ts';

const timing = { total: 1, forward: 0, scan: 0, waiting: 0, overlap: 0, backward: 0, optimizer: 0 };

function run(id: string, kind: 'niah' | 'text'): RunRecord {
  const spec: RunSpec = {
    id,
    name: id,
    task:
      kind === 'text'
        ? { kind: 'text', seqLen: 64, source: 'moby-dick' }
        : { kind: 'niah', seqLen: 64, keyLength: 2, filler: 'random' },
    model: defaultModelConfig({ seqLen: 64 }),
    train: defaultTrainConfig(),
    backend: 'webgpu',
  };
  return {
    id,
    experimentId: 'e',
    spec,
    status: 'running',
    step: 0,
    totalSteps: 10,
    createdAt: 0,
    updatedAt: 0,
    rate: {},
  };
}

function filled(n: number, loss: (i: number) => number): RunSeries {
  const s = emptySeries();
  for (let i = 0; i < n; i++) {
    appendStep(s.train, {
      step: i,
      loss: loss(i),
      accuracy: i / n,
      lr: 1,
      gradNorm: 1,
      tokensPerSecond: 1,
      timing,
    });
  }
  return s;
}

describe('curve lines', () => {
  it('gives a train line per run and a val line when there are evals, bounded in points', () => {
    const a = run('a', 'niah');
    const b = run('b', 'niah');
    const series = { a: filled(5000, (i) => 5 - i / 1000), b: filled(10, () => 1) };
    appendEval(series.b, { step: 9, loss: 1.2, accuracy: 0.4 });
    const lines = curveLines(
      [a, b],
      series,
      { a: 'red', b: 'blue' },
      { metric: 'loss', smoothing: 0, log: false, maxPoints: 200 },
    );
    expect(lines.map((l) => l.key)).toEqual(['a:train', 'b:train', 'b:val']);
    expect(lines[0].points.length).toBeLessThanOrEqual(200);
    expect(lines[0].points[0]).toEqual({ x: 0, y: 5 });
    expect(lines[0].color).toBe('red');
    expect(lines[2].points).toEqual([{ x: 9, y: 1.2 }]);
  });

  it('smooths training curves but not validation points', () => {
    const a = run('a', 'niah');
    const series = { a: filled(100, (i) => (i % 2 === 0 ? 2 : 0)) };
    appendEval(series.a, { step: 50, loss: 7, accuracy: 0 });
    const raw = curveLines([a], series, {}, { metric: 'loss', smoothing: 0, log: false, maxPoints: 1000 });
    const smooth = curveLines(
      [a],
      series,
      {},
      { metric: 'loss', smoothing: 0.9, log: false, maxPoints: 1000 },
    );
    const spread = (ys: number[]) => Math.max(...ys.slice(50)) - Math.min(...ys.slice(50));
    expect(spread(raw[0].points.map((p) => p.y))).toBe(2);
    expect(spread(smooth[0].points.map((p) => p.y))).toBeLessThan(0.5);
    expect(smooth[1].points).toEqual([{ x: 50, y: 7 }]);
  });

  it('drops points a log axis cannot show', () => {
    const a = run('a', 'niah');
    const series = { a: filled(3, (i) => i) }; // 0, 1, 2
    const lines = curveLines([a], series, {}, { metric: 'loss', smoothing: 0, log: true, maxPoints: 100 });
    expect(lines[0].points.map((p) => p.y)).toEqual([1, 2]);
  });

  it('collects the latest per-position loss of text runs', () => {
    const t = run('t', 'text');
    const n = run('n', 'niah');
    const series = { t: emptySeries(), n: emptySeries() };
    appendEval(series.t, { step: 1, loss: 1, accuracy: 0, lossByPosition: [9, 9] });
    appendEval(series.t, { step: 2, loss: 1, accuracy: 0, lossByPosition: [3, 2, 1] });
    appendEval(series.t, { step: 3, loss: 1, accuracy: 0 });
    appendEval(series.n, { step: 3, loss: 1, accuracy: 0 });
    const data = positionLoss([t, n], series);
    expect(data.runIds).toEqual(['t']);
    expect(data.rows).toEqual([
      { bucket: '0', t: 3 },
      { bucket: '1', t: 2 },
      { bucket: '2–3', t: 1 },
    ]);
  });

  it('summarises the latest numbers', () => {
    const a = run('a', 'niah');
    const series = { a: filled(4, (i) => 4 - i) };
    appendEval(series.a, { step: 3, loss: 1.5, accuracy: 0.25 });
    expect(latestRows([a], series, { a: 'red' }, 0)[0]).toEqual({
      runId: 'a',
      name: 'a',
      color: 'red',
      step: 3,
      trainLoss: 1,
      valLoss: 1.5,
      trainAccuracy: 0.75,
      valAccuracy: 0.25,
    });
    expect(latestRows([a], { a: emptySeries() }, {}, 0)[0].step).toBeNull();
  });
});

describe('seeds of a repeated variant', () => {
  /** Seed `seed` of "E1 window" repeated twice. */
  function seeded(seed: number): RunRecord {
    const r = run(`e/window/seed-${seed}`, 'niah');
    return {
      ...r,
      spec: { ...r.spec, name: `E1 window · seed ${seed}`, train: defaultTrainConfig({ seed, repeats: 2 }) },
    };
  }
  const options = { metric: 'loss' as const, smoothing: 0, log: false, maxPoints: 100 };

  it('draws one mean line with a min–max band per repeated variant, next to the other runs', () => {
    const other = run('g', 'niah');
    const series = {
      'e/window/seed-1': filled(4, (i) => 4 - i),
      // The second seed is behind: its last steps are the first seed's alone.
      'e/window/seed-2': filled(2, (i) => 6 - i),
      g: filled(3, () => 1),
    };
    const lines = curveLines([seeded(1), other, seeded(2)], series, {}, options);
    expect(lines.map((l) => l.name)).toEqual(['E1 window train (mean of 2 seeds)', 'g train']);
    const mean = lines[0];
    expect(mean.seeds).toBe(2);
    expect(mean.points).toEqual([
      { x: 0, y: 5 },
      { x: 1, y: 4 },
      { x: 2, y: 2 },
      { x: 3, y: 1 },
    ]);
    expect(mean.band).toEqual([
      { x: 0, lo: 4, hi: 6 },
      { x: 1, lo: 3, hi: 5 },
      { x: 2, lo: 2, hi: 2 },
      { x: 3, lo: 1, hi: 1 },
    ]);
    expect(lines[1].band).toBeUndefined();
  });

  it('shows a single visible seed as its own line', () => {
    const lines = curveLines([seeded(1)], { 'e/window/seed-1': filled(3, () => 1) }, {}, options);
    expect(lines.map((l) => l.name)).toEqual(['E1 window · seed 1 train']);
  });

  it('gives the results row mean ± spread and n over the seeds', () => {
    const series = { 'e/window/seed-1': filled(3, () => 1), 'e/window/seed-2': filled(3, () => 3) };
    appendEval(series['e/window/seed-1'], { step: 2, loss: 2, accuracy: 0.5 });
    const rows = latestGroupRows([seeded(1), seeded(2)], series, {}, 0);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'E1 window', n: 2, step: 2 });
    expect(rows[0].trainLoss).toEqual({ mean: 2, min: 1, max: 3, sd: Math.SQRT2, n: 2 });
    expect(rows[0].valLoss).toMatchObject({ mean: 2, n: 1 });
  });
});
