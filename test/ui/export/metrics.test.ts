import { describe, expect, it } from 'vitest';
import { csvField } from '../../../src/common/csv.ts';
import { defaultModelConfig } from '../../../src/gpu/model/config.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';
import {
  CSV_COLUMNS,
  type MetricsExport,
  metricsToCsv,
  metricsToJson,
  safeFileName,
} from '../../../src/ui/export/metrics.ts';
import { appendEval, appendStep, emptySeries } from '../../../src/ui/state/series.ts';
import type { RunRecord } from '../../../src/ui/state/types.ts';

const timing = { total: 1, forward: 0, scan: 0, waiting: 0, overlap: 0, backward: 0, optimizer: 0 };

function fixture() {
  const run: RunRecord = {
    id: 'e1/window+rosa',
    experimentId: 'e1',
    spec: {
      id: 'e1/window+rosa',
      name: 'E1 "odd", name',
      task: { kind: 'niah', seqLen: 64, keyLength: 2, filler: 'random' },
      model: defaultModelConfig({ seqLen: 64 }),
      train: defaultTrainConfig(),
      backend: 'webgpu',
    },
    status: 'finished',
    step: 1,
    totalSteps: 2,
    createdAt: 0,
    updatedAt: 0,
    rate: {},
  };
  const s = emptySeries();
  appendStep(s.train, {
    step: 0,
    loss: 2.5,
    accuracy: 0.1,
    lr: 0.001,
    gradNorm: 1.5,
    tokensPerSecond: 900,
    timing,
  });
  appendStep(s.train, {
    step: 1,
    loss: Number.NaN,
    accuracy: 0.2,
    lr: 0.002,
    gradNorm: 1,
    tokensPerSecond: 950,
    timing,
  });
  appendEval(s, { step: 1, loss: 2.25, accuracy: 0.5, lossByPosition: [3, 2] });
  return { run, series: { [run.id]: s } };
}

/** A minimal RFC 4180 parser to check that the CSV reads back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

describe('metrics export', () => {
  it('CSV has a header, one row per step and per eval, and quotes awkward names', () => {
    const { run, series } = fixture();
    const csv = metricsToCsv([run], series);
    const rows = parseCsv(csv);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(4);
    expect(rows[1]).toEqual([
      'e1/window+rosa',
      'E1 "odd", name',
      'window+rosa',
      'train',
      '0',
      '2.5',
      '0.1',
      '0.001',
      '1.5',
      '900',
      ...Array(9).fill(''),
    ]);
    expect(rows[2][5]).toBe(''); // NaN loss is left empty
    expect(rows[3]).toEqual([
      'e1/window+rosa',
      'E1 "odd", name',
      'window+rosa',
      'eval',
      '1',
      '2.25',
      '0.5',
      ...Array(14).fill(''),
    ]);
  });

  it('csvField quotes only when needed', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(undefined)).toBe('');
    expect(csvField(Number.POSITIVE_INFINITY)).toBe('');
  });

  it('JSON carries specs, training points, evals and per-position losses', () => {
    const { run, series } = fixture();
    const parsed = JSON.parse(
      metricsToJson([run], series, new Date('2025-02-03T04:05:06Z')),
    ) as MetricsExport;
    expect(parsed.format).toBe('rosa-playground-metrics');
    expect(parsed.exportedAt).toBe('2025-02-03T04:05:06.000Z');
    const r = parsed.runs[0];
    expect(r.spec.model.variant).toBe('window+rosa');
    expect(r.train).toHaveLength(2);
    expect(r.train[0]).toEqual({
      step: 0,
      loss: 2.5,
      accuracy: 0.1,
      lr: 0.001,
      gradNorm: 1.5,
      tokensPerSecond: 900,
    });
    expect(r.train[1].loss).toBeNull();
    expect(r.eval[0].lossByPosition).toEqual([3, 2]);
  });

  it('makes safe file names', () => {
    expect(safeFileName('E1 window+rosa / step 10')).toBe('E1-window+rosa-step-10');
    expect(safeFileName('///')).toBe('export');
  });
});
