import { describe, expect, it } from 'vitest';
import type { StepMetrics } from '../../../src/gpu/train/protocol.ts';
import { etaMs, observeStep, resetClock } from '../../../src/ui/state/eta.ts';
import {
  appendEval,
  appendStep,
  emptySeries,
  restoreSeries,
  snapshotSeries,
} from '../../../src/ui/state/series.ts';

const timing = { total: 1, forward: 0, scan: 0, waiting: 0, overlap: 0, backward: 0, optimizer: 0 };
const step = (i: number, loss = i): StepMetrics => ({
  step: i,
  loss,
  accuracy: 0.5,
  lr: 0.001,
  gradNorm: 1,
  tokensPerSecond: 100,
  timing,
});

describe('series', () => {
  it('appends steps in order and ignores repeated or older steps', () => {
    const s = emptySeries();
    for (const i of [0, 1, 2, 2, 1, 3]) appendStep(s.train, step(i));
    expect(s.train.step).toEqual([0, 1, 2, 3]);
    expect(s.train.loss).toEqual([0, 1, 2, 3]);
  });

  it('stays bounded by averaging neighbours, keeping the mean and the last step', () => {
    const s = emptySeries();
    const n = 1000;
    for (let i = 0; i < n; i++) appendStep(s.train, step(i), 64);
    expect(s.train.step.length).toBeLessThan(64);
    expect(s.train.stride).toBeGreaterThan(1);
    const meanStored = s.train.loss.reduce((a, b) => a + b, 0) / s.train.loss.length;
    expect(Math.abs(meanStored - (n - 1) / 2)).toBeLessThan(n * 0.05);
    const last = s.train.step[s.train.step.length - 1];
    expect(n - 1 - last).toBeLessThan(s.train.stride);
    for (let i = 1; i < s.train.step.length; i++)
      expect(s.train.step[i]).toBeGreaterThan(s.train.step[i - 1]);
  });

  it('replaces an eval at the same step and thins very long eval lists', () => {
    const s = emptySeries();
    appendEval(s, { step: 10, loss: 2, accuracy: 0 });
    appendEval(s, { step: 10, loss: 1.5, accuracy: 0 });
    appendEval(s, { step: 5, loss: 9, accuracy: 0 });
    expect(s.eval).toEqual([{ step: 10, loss: 1.5, accuracy: 0 }]);
    for (let i = 11; i < 100; i++) appendEval(s, { step: i, loss: 1, accuracy: 0 }, 20);
    expect(s.eval.length).toBeLessThanOrEqual(20);
    expect(s.eval[s.eval.length - 1].step).toBe(99);
  });

  it('snapshots are independent copies and restore round-trips', () => {
    const s = emptySeries();
    for (let i = 0; i < 5; i++) appendStep(s.train, step(i));
    appendEval(s, { step: 4, loss: 1, accuracy: 0.5, lossByPosition: [1, 2] });
    const snap = snapshotSeries(s);
    appendStep(s.train, step(5));
    expect(snap.train.step).toHaveLength(5);
    expect(restoreSeries(structuredClone(snap))).toEqual(snap);
  });

  it('restores garbage as an empty series', () => {
    expect(restoreSeries(null)).toEqual(emptySeries());
    expect(restoreSeries({ train: { step: [1, 2], loss: [1] } })).toEqual(emptySeries());
    expect(restoreSeries({ eval: [{ step: 'x' }, { step: 1, loss: 2, accuracy: 0 }] }).eval).toEqual([
      { step: 1, loss: 2, accuracy: 0 },
    ]);
  });
});

describe('ETA', () => {
  it('learns the time per step from arrivals and projects the rest', () => {
    let r = observeStep({}, 0, 1000);
    expect(etaMs(r, 0, 100)).toBeNull();
    r = observeStep(r, 1, 1100);
    expect(r.msPerStep).toBe(100);
    expect(etaMs(r, 1, 100)).toBe(99 * 100); // 1 of 100 steps done
    // batched arrivals: 10 steps in 500 ms
    r = observeStep(r, 11, 1600);
    expect(r.msPerStep).toBeLessThan(100);
    expect(r.msPerStep).toBeGreaterThan(50);
    expect(etaMs(r, 100, 100)).toBe(0);
  });

  it('does not count a pause as training time', () => {
    let r = observeStep(observeStep({}, 0, 0), 1, 100);
    r = resetClock(r);
    r = observeStep(r, 2, 60_000); // first step after an hour-long pause
    expect(r.msPerStep).toBe(100);
    r = observeStep(r, 3, 60_100);
    expect(r.msPerStep).toBe(100);
  });
});
