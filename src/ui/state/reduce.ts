// Folding a batch of TrainerEvents into run records (copy on write) and series (in place).

import type { StepTiming, TrainerEvent } from '../../gpu/train/protocol.ts';
import { observeStep, resetClock, smooth } from './eta.ts';
import { appendEval, appendStep, emptySeries, type RunSeries, truncateAfter } from './series.ts';
import type { RunRecord } from './types.ts';

export interface ReceivedEvent {
  event: TrainerEvent;
  /** Arrival time (ms, performance.now or Date.now) for speed estimates. */
  at: number;
}

export interface ReduceResult {
  runs: Record<string, RunRecord>;
  /** Runs whose record or series changed. */
  changed: Set<string>;
  /** Events for runs this page does not know (yet); the caller keeps them for later. */
  unknown: ReceivedEvent[];
}

const TIMING_KEYS: Array<keyof StepTiming> = [
  'total',
  'forward',
  'scan',
  'waiting',
  'overlap',
  'backward',
  'optimizer',
];

function smoothTiming(prev: StepTiming | undefined, next: StepTiming): StepTiming {
  if (!prev) return { ...next };
  const out = { ...prev };
  for (const k of TIMING_KEYS) out[k] = smooth(prev[k], next[k]);
  return out;
}

/**
 * Applies events in order. `runs` is not mutated (changed records are copied); the series
 * of changed runs are mutated in place (they are large and owned by the store).
 */
export function reduceEvents(
  runs: Record<string, RunRecord>,
  series: Record<string, RunSeries>,
  events: readonly ReceivedEvent[],
  now: number,
): ReduceResult {
  const out: Record<string, RunRecord> = { ...runs };
  const changed = new Set<string>();
  const unknown: ReceivedEvent[] = [];
  const copied = new Set<string>();
  const edit = (id: string): RunRecord | null => {
    const r = out[id];
    if (!r) return null;
    if (!copied.has(id)) {
      out[id] = { ...r };
      copied.add(id);
    }
    changed.add(id);
    out[id].updatedAt = now;
    return out[id];
  };

  for (const item of events) {
    const { event, at } = item;
    const run = edit(event.runId);
    if (!run) {
      unknown.push(item);
      continue;
    }
    series[run.id] ??= emptySeries();
    switch (event.type) {
      case 'started':
        run.totalSteps = event.totalSteps;
        run.parameters = event.parameters;
        run.gpuBytes = event.gpuBytes;
        run.backend = event.backend;
        if (run.status === 'queued' || run.status === 'interrupted') run.status = 'running';
        run.deviceLost = undefined;
        run.message = undefined;
        run.fields = undefined;
        break;
      case 'step': {
        const m = event.metrics;
        appendStep(series[run.id].train, m);
        if (m.step > run.step) run.step = m.step;
        if (run.status === 'queued') run.status = 'running';
        run.rate = run.status === 'running' ? observeStep(run.rate, m.step, at) : run.rate;
        // A run's first step also compiles its GPU pipelines (seconds on a software adapter):
        // the second step replaces it instead of being averaged with it.
        const second = series[run.id].train.step.length === 2;
        run.tokensPerSecond = second ? m.tokensPerSecond : smooth(run.tokensPerSecond, m.tokensPerSecond);
        run.timing = second ? { ...m.timing } : smoothTiming(run.timing, m.timing);
        break;
      }
      case 'eval':
        appendEval(series[run.id], event.metrics);
        break;
      case 'checkpoint':
        run.lastCheckpoint = { step: event.step, key: event.key };
        break;
      case 'status':
        if (event.status !== 'running' || run.status !== 'running') run.rate = resetClock(run.rate);
        // A message belongs to a state: keep ours while the state holds, drop it when it changes.
        if (event.message !== undefined || event.status !== run.status) run.message = event.message;
        run.status = event.status;
        if (event.status === 'running' || event.status === 'queued') run.deviceLost = undefined;
        // The engine's step is the truth: lower than ours means the run went back to a checkpoint.
        if (
          Number.isInteger(event.step) &&
          event.step >= 0 &&
          !(event.status === 'queued' && event.step === 0)
        ) {
          if (event.step < run.step) truncateAfter(series[run.id], event.step);
          run.step = event.step;
        }
        if (event.status === 'finished' && run.totalSteps > 0) run.step = Math.max(run.step, run.totalSteps);
        break;
      case 'device-lost':
        run.deviceLost = { reason: event.reason, checkpointStep: event.checkpointStep };
        break;
      case 'error':
        run.status = 'failed';
        run.message = event.message;
        run.fields = event.fields;
        run.rate = resetClock(run.rate);
        break;
    }
  }
  return { runs: out, changed, unknown };
}

/** A run's progress in [0, 1]. */
export function progressOf(run: Pick<RunRecord, 'step' | 'totalSteps' | 'status'>): number {
  if (run.status === 'finished') return 1;
  if (run.totalSteps <= 0) return 0;
  return Math.min(1, Math.max(0, run.step / run.totalSteps));
}
