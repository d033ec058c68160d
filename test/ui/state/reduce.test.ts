import { describe, expect, it } from 'vitest';
import { defaultModelConfig } from '../../../src/gpu/model/config.ts';
import type { RunSpec, TrainerEvent } from '../../../src/gpu/train/protocol.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';
import { progressOf, reduceEvents } from '../../../src/ui/state/reduce.ts';
import { emptySeries, type RunSeries } from '../../../src/ui/state/series.ts';
import type { RunRecord } from '../../../src/ui/state/types.ts';

const spec: RunSpec = {
  id: 'r1',
  name: 'window',
  task: { kind: 'niah', seqLen: 64, keyLength: 2, filler: 'random' },
  model: defaultModelConfig({ seqLen: 64, variant: 'window' }),
  train: defaultTrainConfig({ steps: 10 }),
  backend: 'webgpu',
};
const record = (over: Partial<RunRecord> = {}): RunRecord => ({
  id: 'r1',
  experimentId: 'e',
  spec,
  status: 'queued',
  step: -1,
  totalSteps: 10,
  createdAt: 0,
  updatedAt: 0,
  rate: {},
  ...over,
});
const timing = { total: 10, forward: 4, scan: 2, waiting: 1, overlap: 1, backward: 4, optimizer: 1 };
const stepEvent = (
  i: number,
  loss: number,
  over: { tokensPerSecond?: number; timing?: typeof timing } = {},
): TrainerEvent => ({
  type: 'step',
  runId: 'r1',
  metrics: { step: i, loss, accuracy: 0.1, lr: 1e-3, gradNorm: 1, tokensPerSecond: 1000, timing, ...over },
});

describe('reduceEvents', () => {
  it('folds started, steps, evals, checkpoints and status into the run and its series', () => {
    const runs = { r1: record() };
    const series: Record<string, RunSeries> = { r1: emptySeries() };
    const events: TrainerEvent[] = [
      { type: 'started', runId: 'r1', totalSteps: 10, parameters: 999, gpuBytes: 2048, backend: 'webgpu' },
      stepEvent(1, 3),
      stepEvent(2, 2.5),
      { type: 'eval', runId: 'r1', metrics: { step: 2, loss: 2.7, accuracy: 0.2 } },
      { type: 'checkpoint', runId: 'r1', step: 1, key: 'k1' },
    ];
    const res = reduceEvents(
      runs,
      series,
      events.map((event, i) => ({ event, at: i * 100 })),
      5,
    );
    expect(runs.r1.status).toBe('queued'); // input not mutated
    const r = res.runs.r1;
    expect(r).toMatchObject({ status: 'running', step: 2, parameters: 999, gpuBytes: 2048, updatedAt: 5 });
    expect(r.lastCheckpoint).toEqual({ step: 1, key: 'k1' });
    expect(r.timing).toEqual(timing);
    expect(r.tokensPerSecond).toBe(1000);
    expect(r.rate.msPerStep).toBe(100);
    expect(series.r1.train.loss).toEqual([3, 2.5]);
    expect(series.r1.eval).toEqual([{ step: 2, loss: 2.7, accuracy: 0.2 }]);
    expect([...res.changed]).toEqual(['r1']);
    expect(progressOf(r)).toBeCloseTo(0.2);
  });

  it('does not let the first step (pipeline compilation) weigh on the step time and tok/s', () => {
    const slow = { ...timing, total: 60_000, forward: 59_000 };
    const events = [
      stepEvent(1, 3, { tokensPerSecond: 1, timing: slow }),
      stepEvent(2, 2.9),
      stepEvent(3, 2.8),
    ];
    const res = reduceEvents(
      { r1: record() },
      { r1: emptySeries() },
      events.map((event, i) => ({ event, at: i * 100 })),
      5,
    );
    expect(res.runs.r1.timing).toEqual(timing);
    expect(res.runs.r1.tokensPerSecond).toBe(1000);
  });

  it('marks errors as failed with their field messages and finishes at 100%', () => {
    const res = reduceEvents(
      { r1: record({ status: 'running' }) },
      { r1: emptySeries() },
      [
        {
          event: { type: 'error', runId: 'r1', message: 'bad', fields: [{ field: 'width', message: 'x' }] },
          at: 0,
        },
      ],
      0,
    );
    expect(res.runs.r1).toMatchObject({
      status: 'failed',
      message: 'bad',
      fields: [{ field: 'width', message: 'x' }],
    });
    const fin = reduceEvents(
      { r1: record({ status: 'running', step: 3 }) },
      { r1: emptySeries() },
      [{ event: { type: 'status', runId: 'r1', status: 'finished', step: 9 }, at: 0 }],
      0,
    );
    expect(fin.runs.r1.step).toBe(10); // finished means all 10 steps, whatever the last event said
    expect(progressOf(fin.runs.r1)).toBe(1);
  });

  it('returns events of unknown runs for later', () => {
    const res = reduceEvents({}, {}, [{ event: stepEvent(0, 1), at: 0 }], 0);
    expect(res.unknown).toHaveLength(1);
    expect(res.changed.size).toBe(0);
  });

  it('does not count paused time in the speed', () => {
    let runs: Record<string, RunRecord> = { r1: record({ status: 'running' }) };
    const series = { r1: emptySeries() };
    const feed = (event: TrainerEvent, at: number) => {
      runs = reduceEvents(runs, series, [{ event, at }], at).runs;
    };
    feed(stepEvent(0, 1), 0);
    feed(stepEvent(1, 1), 50);
    feed({ type: 'status', runId: 'r1', status: 'paused', step: 1 }, 60);
    feed({ type: 'status', runId: 'r1', status: 'running', step: 1 }, 100_000);
    feed(stepEvent(2, 1), 100_050);
    feed(stepEvent(3, 1), 100_100);
    expect(runs.r1.rate.msPerStep).toBe(50);
  });
});

describe('going back to a checkpoint', () => {
  it('takes the step of a status event and drops the metrics after it', () => {
    let runs: Record<string, RunRecord> = { r1: record({ status: 'running' }) };
    const series = { r1: emptySeries() };
    const feed = (event: TrainerEvent) => {
      runs = reduceEvents(runs, series, [{ event, at: 0 }], 0).runs;
    };
    for (let i = 1; i <= 8; i++) feed(stepEvent(i, 10 - i));
    feed({ type: 'eval', runId: 'r1', metrics: { step: 4, loss: 6, accuracy: 0 } });
    feed({ type: 'eval', runId: 'r1', metrics: { step: 8, loss: 2, accuracy: 0 } });
    // The page reloaded; the run is loaded from its checkpoint at step 5 (same id).
    feed({ type: 'status', runId: 'r1', status: 'paused', step: 5 });
    expect(runs.r1.step).toBe(5);
    expect(series.r1.train.step).toEqual([1, 2, 3, 4, 5]);
    expect(series.r1.eval.map((e) => e.step)).toEqual([4]);
    feed({ type: 'status', runId: 'r1', status: 'running', step: 5 });
    feed(stepEvent(6, 1));
    expect(series.r1.train.step).toEqual([1, 2, 3, 4, 5, 6]);
    expect(runs.r1.step).toBe(6);
  });
});
