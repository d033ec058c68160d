// After a reload the engine is new (a new trainer worker) but the checkpoint store is not:
// a query naming a run it does not hold restores that run's model from its latest checkpoint,
// and a run cut off mid-training resumes from there to its step count.

import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import type { NiahQuery, TrainerEvent } from '../../../src/gpu/train/protocol.ts';
import { cpuEngine, tinyNiahSpec } from '../../harness/engine.ts';

const ID = 'exp-mq1x2k-4fz/window+rosa';
const question = (runId: string): NiahQuery => ({
  runId,
  haystack: 'the grass is green',
  key: '7',
  depth: 0.5,
});

function watch(e: ReturnType<typeof cpuEngine>) {
  const events: TrainerEvent[] = [];
  e.subscribe((ev) => events.push(ev));
  return events;
}

describe('restoring a run after a reload', () => {
  it('answers every query from the latest checkpoint, as the run that saved it did', async () => {
    const store = new MemoryCheckpointStore();
    const before = cpuEngine(store);
    await before.start(tinyNiahSpec(ID, { steps: 6, checkpointEvery: 2 }));
    await before.idle();
    expect((await store.list()).map((c) => c.step).sort()).toEqual([2, 4, 6]);
    const answer = await before.niahQuery(question(ID));
    const map = await before.retrievalMap(ID, 0, 0);
    const grid = await before.niahGrid(ID, [12, 24], [0, 1], 2);
    const check = await before.gradientCheck({ runId: ID, sequences: 1, maxFlipsPerRoute: 4 });

    const after = cpuEngine(store);
    const events = watch(after);
    expect(await after.niahQuery(question(ID))).toEqual(answer);
    expect(await after.retrievalMap(ID, 0, 0)).toEqual(map);
    expect(await after.niahGrid(ID, [12, 24], [0, 1], 2)).toEqual(grid);
    const again = await after.gradientCheck({ runId: ID, sequences: 1, maxFlipsPerRoute: 4 });
    expect(again.layers).toEqual(check.layers);
    expect((await after.saveCheckpoint(ID)).step).toBe(6);
    // Restored quietly: the finished run is not announced as paused or running again.
    expect(events.filter((e) => e.type === 'status')).toEqual([]);
  });

  it('says in plain words, naming the variant, that no checkpoint was saved', async () => {
    const store = new MemoryCheckpointStore();
    const before = cpuEngine(store);
    await before.start(tinyNiahSpec(ID, { steps: 2, checkpointEvery: 0 }));
    await before.idle();
    await before.deleteCheckpoint((await store.list())[0].key);
    const after = cpuEngine(store);
    for (const ask of [
      () => after.niahQuery(question(ID)),
      () => after.retrievalMap(ID, 0, 0),
      () => after.niahGrid(ID, [12], [0.5], 1),
      () => after.saveCheckpoint(ID),
      () => after.resume(ID),
    ]) {
      const message = await ask().then(
        () => 'answered',
        (err: Error) => err.message,
      );
      expect(message).toMatch(
        /"window\+rosa" run's model is no longer in memory .*no checkpoint of it was saved/,
      );
      expect(message).not.toContain('exp-');
    }
  });

  it('falls back to an earlier checkpoint when the latest is unreadable', async () => {
    const store = new MemoryCheckpointStore();
    const before = cpuEngine(store);
    await before.start(tinyNiahSpec(ID, { steps: 4, checkpointEvery: 2 }));
    await before.idle();
    const latest = (await store.list()).find((c) => c.step === 4)!;
    const files = await store.get(latest.key);
    await store.put(latest.key, { ...files, weights: files.weights.slice(0, 40) });
    const after = cpuEngine(store);
    expect((await after.saveCheckpoint(ID)).step).toBe(2);
  });

  it('resumes a run cut off by a reload from its last checkpoint to its step count', async () => {
    const spec = tinyNiahSpec(ID, { steps: 8, checkpointEvery: 4 });
    const whole = cpuEngine(new MemoryCheckpointStore());
    const wholeEvents = watch(whole);
    await whole.start(spec);
    await whole.idle();
    const losses = (events: TrainerEvent[]) =>
      events.flatMap((e) => (e.type === 'step' ? [[e.metrics.step, e.metrics.loss]] : []));

    // The page closes after step 5: the worker (and its engine) is gone, the step-4 checkpoint is kept.
    const store = new MemoryCheckpointStore();
    const cut = cpuEngine(store);
    const cutEvents = watch(cut);
    cut.subscribe((e) => {
      if (e.type === 'step' && e.metrics.step === 5) void cut.pause(ID);
    });
    await cut.start(spec);
    await cut.idle();
    expect(cutEvents.filter((e) => e.type === 'step').length).toBe(5);

    const after = cpuEngine(store);
    const events = watch(after);
    await after.resume(ID);
    await after.idle();
    const statuses = events.flatMap((e) => (e.type === 'status' ? [[e.status, e.step]] : []));
    expect(statuses[0]).toEqual(['running', 4]);
    expect(statuses.at(-1)).toEqual(['finished', 8]);
    // Steps 5–8 again, exactly as the run that was never interrupted took them.
    expect(losses(events)).toEqual(losses(wholeEvents).slice(4));
  });
});
