// One row per training step or evaluation, with one column list for every CSV the project
// writes (the page's export and the CLI's metrics.csv), so files from both compare directly.

import type { EvalMetrics, StepMetrics, StepTiming } from '../gpu/train/protocol.ts';
import { csvRow } from './csv.ts';

export const METRICS_CSV_COLUMNS = [
  'run_id',
  'run_name',
  'variant',
  'kind',
  'step',
  'loss',
  'accuracy',
  'lr',
  'grad_norm',
  'tokens_per_second',
  'total_ms',
  'forward_ms',
  'scan_ms',
  'waiting_ms',
  'overlap_ms',
  'backward_ms',
  'optimizer_ms',
  'niah_distance',
  'niah_accuracy',
] as const;

export interface CsvRunHead {
  id: string;
  name: string;
  variant: string;
}

/** A training step's metrics; the page's curves keep no timing. */
export type CsvStep = Omit<StepMetrics, 'timing'> & { timing?: StepTiming };

const TIMING_KEYS = ['total', 'forward', 'scan', 'waiting', 'overlap', 'backward', 'optimizer'] as const;

export function trainCsvRow(run: CsvRunHead, s: CsvStep): string {
  const timing = TIMING_KEYS.map((k) => s.timing?.[k]);
  return csvRow([
    run.id,
    run.name,
    run.variant,
    'train',
    s.step,
    s.loss,
    s.accuracy,
    s.lr,
    s.gradNorm,
    s.tokensPerSecond,
    ...timing,
    undefined,
    undefined,
  ]);
}

export function evalCsvRow(run: CsvRunHead, e: EvalMetrics): string {
  const blanks = Array<undefined>(5 + TIMING_KEYS.length).fill(undefined);
  return csvRow([
    run.id,
    run.name,
    run.variant,
    'eval',
    e.step,
    e.loss,
    e.accuracy,
    ...blanks,
    e.niahAtDistance?.distance,
    e.niahAtDistance?.accuracy,
  ]);
}
