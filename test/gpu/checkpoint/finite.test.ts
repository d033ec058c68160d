// Saving refuses NaN and ±∞, so the checkpoint called "last good" is good.

import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  encodeCheckpoint,
  NonFiniteCheckpointError,
} from '../../../src/gpu/checkpoint/checkpoint.ts';
import { firstNonFinite } from '../../../src/gpu/checkpoint/finite.ts';
import { decodeSafetensors, encodeSafetensors } from '../../../src/gpu/checkpoint/safetensors.ts';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { createRun } from '../../../src/gpu/train/factory.ts';
import type { TrainerEvent } from '../../../src/gpu/train/protocol.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';
import { cpuEngine } from '../../harness/engine.ts';
import { tinyContents, tinySpec } from './fixtures/tiny.ts';

describe('finite before saving', () => {
  it('finds the first NaN or infinity', () => {
    expect(firstNonFinite(Float32Array.from([1, -2, 3e38]))).toBe(-1);
    expect(firstNonFinite(Float32Array.from([0, Number.NaN, Number.POSITIVE_INFINITY]))).toBe(1);
    expect(firstNonFinite(Float32Array.from([0, 0, Number.NEGATIVE_INFINITY]))).toBe(2);
  });

  it('refuses to encode NaN weights or infinite moments', () => {
    const bad = tinyContents(5);
    bad.parameters.get('embed')![3] = Number.NaN;
    expect(() => encodeCheckpoint(bad)).toThrow(NonFiniteCheckpointError);
    expect(() => encodeCheckpoint(bad)).toThrow(/"embed" holds NaN \(element 3\) at step 5/);
    const badMoment = tinyContents(5);
    badMoment.optimizer!.get('embed')!.v[0] = Number.POSITIVE_INFINITY;
    expect(() => encodeCheckpoint(badMoment)).toThrow(/"optim\.v\.embed" holds Infinity/);
    expect(new NonFiniteCheckpointError('x', Number.NaN, 0, 1)).toBeInstanceOf(CheckpointError);
  });

  it('a run whose update went non-finite stops without saving and names the last good checkpoint', async () => {
    const store = new MemoryCheckpointStore();
    const events: TrainerEvent[] = [];
    const spec = {
      ...tinySpec('fin'),
      train: defaultTrainConfig({
        steps: 10,
        batchSize: 2,
        evalEvery: 0,
        checkpointEvery: 2,
        warmupSteps: 1,
      }),
    };
    const run = await createRun(
      spec,
      { gpu: null, scanner: inlineScanner(), loadCorpus: async () => '', store },
      (ev) => events.push(ev),
    );
    for (let i = 0; i < 3; i++) await run.advance();
    // A NaN second moment: step 4's loss and gradient norm are still finite, its update is not.
    const state = await run.model.exportOptimizerState();
    state.get('embed')!.v[0] = Number.NaN;
    run.model.importOptimizerState(state);
    expect(await run.advance()).toBe(false);
    expect(events.filter((e) => e.type === 'step').length).toBe(4);
    const err = events.find((x) => x.type === 'error');
    expect(err?.type === 'error' && err.message).toMatch(
      /not saved: tensor "embed" holds NaN .* at step 4.*last good checkpoint is "fin-step2" \(step 2\)/,
    );
    expect(run.status).toBe('failed');
    expect((await store.list()).map((c) => c.step)).toEqual([2]);
    await expect(run.saveCheckpoint()).rejects.toThrow(NonFiniteCheckpointError);
  });

  it('after a reload, the checkpoint a run was loaded from is its last good one', async () => {
    const store = new MemoryCheckpointStore();
    const events: TrainerEvent[] = [];
    const engine = cpuEngine(store);
    engine.subscribe((e) => events.push(e));
    const spec = {
      ...tinySpec('again'),
      train: defaultTrainConfig({ steps: 3, batchSize: 2, evalEvery: 0, warmupSteps: 1 }),
    };
    await engine.start(spec);
    await engine.idle();
    const [saved] = await store.list();
    expect(saved.step).toBe(3);
    // A finite checkpoint whose first moments are so large that the next update overflows.
    const files = await store.get(saved.key);
    const { tensors, metadata } = decodeSafetensors(files.weights);
    (tensors['optim.m.embed'].data as Float32Array).fill(3e38);
    // …and a run meant to go on to step 8.
    const manifest = JSON.parse(files.manifest);
    manifest.spec.train.steps = 8;
    await store.put(saved.key, {
      weights: encodeSafetensors(tensors, metadata),
      manifest: JSON.stringify(manifest),
    });
    await engine.loadCheckpoint(saved.key);
    await engine.resume('again');
    await engine.idle();
    const err = events.find((e) => e.type === 'error');
    expect(err?.type === 'error' && err.message).toMatch(
      /became (NaN|Infinity|-Infinity) at step 5.*last good checkpoint is "again-step3" \(step 3\)/,
    );
  });
});
