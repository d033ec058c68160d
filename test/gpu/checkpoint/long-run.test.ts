// A long run's checkpoints stay small and load: manifests keep a bounded metrics history,
// the full history goes to the store's metrics log.

import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/gpu/checkpoint/checkpoint.ts';
import { boundHistory, MANIFEST_HISTORY, rowsAfter } from '../../../src/gpu/checkpoint/metrics-history.ts';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { createRun } from '../../../src/gpu/train/factory.ts';
import type { StepMetrics } from '../../../src/gpu/train/protocol.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';
import { tinyContents, tinySpec } from './fixtures/tiny.ts';

const MILLION = 1_000_000;

function history(n: number): StepMetrics[] {
  const rows: StepMetrics[] = new Array(n);
  const timing = { total: 1, forward: 0, scan: 0, waiting: 0, overlap: 0, backward: 0, optimizer: 0 };
  for (let i = 0; i < n; i++) {
    rows[i] = {
      step: i + 1,
      loss: 1 / (i + 1),
      accuracy: 0.5,
      lr: 1e-3,
      gradNorm: 1,
      tokensPerSecond: 1,
      timing,
    };
  }
  return rows;
}

const env = (store: MemoryCheckpointStore) => ({
  gpu: null,
  scanner: inlineScanner(),
  loadCorpus: async () => '',
  store,
});

describe('long runs', () => {
  it('bounds a history: recent rows in full, older ones evenly sampled from the first', () => {
    const rows = history(10_000);
    const kept = boundHistory(rows, 100);
    expect(kept.length).toBe(100);
    expect(kept[0].step).toBe(1);
    expect(kept.slice(50).map((r) => r.step)).toEqual(rows.slice(-50).map((r) => r.step));
    const steps = kept.map((r) => r.step);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(boundHistory(rows.slice(0, 10), 100).length).toBe(10);
    expect(rowsAfter(rows, 9_990).map((r) => r.step)).toEqual([
      9_991, 9_992, 9_993, 9_994, 9_995, 9_996, 9_997, 9_998, 9_999, 10_000,
    ]);
  });

  it('saves and loads a checkpoint of a million-step run', async () => {
    const spec = { ...tinySpec('long'), train: { ...tinySpec().train, steps: MILLION + 10 } };
    const contents = tinyContents(MILLION, spec);
    contents.manifest.metrics = { steps: history(MILLION), evals: history(MILLION / 10) };
    const files = encodeCheckpoint(contents);
    // A bounded manifest: the million rows are not in it.
    expect(files.manifest.length).toBeLessThan(3_000_000);
    const back = decodeCheckpoint(files.weights, files.manifest);
    expect(back.manifest.metrics.steps.length).toBe(MANIFEST_HISTORY);
    expect(back.manifest.metrics.steps.at(-1)?.step).toBe(MILLION);
    const run = await createRun(spec, env(new MemoryCheckpointStore()), () => {}, { resume: back });
    expect(run.step).toBe(MILLION);
    expect(run.steps.length).toBe(MANIFEST_HISTORY);
  });

  it('resumes from a manifest that still holds every row of a million steps', async () => {
    const spec = { ...tinySpec('legacy'), train: { ...tinySpec().train, steps: MILLION + 10 } };
    const contents = tinyContents(MILLION, spec);
    // Written before manifests were bounded.
    contents.manifest.metrics = { steps: history(MILLION), evals: [] };
    const run = await createRun(spec, env(new MemoryCheckpointStore()), () => {}, { resume: contents });
    expect(run.steps.length).toBe(MILLION);
  });

  it('appends the full history to the run log at each save', async () => {
    const store = new MemoryCheckpointStore();
    const spec = {
      ...tinySpec('logged'),
      train: defaultTrainConfig({
        steps: 6,
        batchSize: 2,
        evalEvery: 2,
        evalBatches: 1,
        checkpointEvery: 3,
        warmupSteps: 1,
      }),
    };
    const run = await createRun(spec, env(store), () => {});
    while (await run.advance()) {}
    const rows = (await store.readLog('logged'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; step: number });
    expect(rows.filter((r) => r.kind === 'step').map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows.filter((r) => r.kind === 'eval').map((r) => r.step)).toEqual([2, 4, 6]);
  });
});
