// Metrics of runs as CSV (one row per training step or evaluation) and as JSON (everything,
// with the run specs, so an export is a complete record of the experiment).

import { evalCsvRow, METRICS_CSV_COLUMNS, trainCsvRow } from '../../common/metrics-csv.ts';
import type { RunSeries } from '../state/series.ts';
import type { RunRecord } from '../state/types.ts';

export const CSV_COLUMNS = METRICS_CSV_COLUMNS;

export function metricsToCsv(runs: RunRecord[], series: Record<string, RunSeries>): string {
  const lines: string[] = [CSV_COLUMNS.join(',')];
  for (const run of runs) {
    const s = series[run.id];
    if (!s) continue;
    const head = { id: run.id, name: run.spec.name, variant: run.spec.model.variant };
    const t = s.train;
    for (let i = 0; i < t.step.length; i++) {
      lines.push(
        trainCsvRow(head, {
          step: t.step[i],
          loss: t.loss[i],
          accuracy: t.accuracy[i],
          lr: t.lr[i],
          gradNorm: t.gradNorm[i],
          tokensPerSecond: t.tokensPerSecond[i],
        }),
      );
    }
    for (const e of s.eval) lines.push(evalCsvRow(head, e));
  }
  return `${lines.join('\r\n')}\r\n`;
}

export interface MetricsExport {
  format: 'rosa-playground-metrics';
  version: 1;
  exportedAt: string;
  runs: Array<{
    id: string;
    name: string;
    status: string;
    step: number;
    totalSteps: number;
    parameters?: number;
    spec: RunRecord['spec'];
    /** How many steps each training point averages (1 unless the run was very long). */
    trainStride: number;
    train: Array<{
      step: number;
      loss: number;
      accuracy: number;
      lr: number;
      gradNorm: number;
      tokensPerSecond: number;
    }>;
    eval: RunSeries['eval'];
  }>;
}

export function metricsToJson(
  runs: RunRecord[],
  series: Record<string, RunSeries>,
  now = new Date(),
): string {
  const out: MetricsExport = {
    format: 'rosa-playground-metrics',
    version: 1,
    exportedAt: now.toISOString(),
    runs: runs.map((run) => {
      const s = series[run.id];
      const t = s?.train;
      return {
        id: run.id,
        name: run.spec.name,
        status: run.status,
        step: run.step,
        totalSteps: run.totalSteps,
        ...(run.parameters !== undefined ? { parameters: run.parameters } : {}),
        spec: run.spec,
        trainStride: t?.stride ?? 1,
        train: t
          ? t.step.map((step, i) => ({
              step,
              loss: t.loss[i],
              accuracy: t.accuracy[i],
              lr: t.lr[i],
              gradNorm: t.gradNorm[i],
              tokensPerSecond: t.tokensPerSecond[i],
            }))
          : [],
        eval: s?.eval ?? [],
      };
    }),
  };
  return JSON.stringify(out, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

/** A file name without characters that file systems reject. */
export function safeFileName(name: string): string {
  const cleaned = name
    .replace(/[^\p{L}\p{N}._+-]+/gu, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return cleaned.slice(0, 80) || 'export';
}
