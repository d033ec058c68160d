import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_DRAFT, type ExperimentDraft } from '../../../src/ui/config/draft.ts';
import { applyPreset, PRESETS } from '../../../src/ui/presets.ts';
import { IndexedDbStorage, MemoryStorage, type RunStorage } from '../../../src/ui/state/persistence.ts';
import { createPlaygroundStore, type PlaygroundStore } from '../../../src/ui/state/store.ts';
import { FakeTrainerClient } from '../fake-client.ts';
import { FakeIndexedDb } from './fake-indexeddb.ts';

const niah = (): ExperimentDraft => ({
  ...applyPreset(PRESETS[0]),
  steps: '40',
  evalEvery: '10',
  lengthWarmup: '20',
});

interface Setup {
  client: FakeTrainerClient;
  store: PlaygroundStore;
  frames: Array<() => void>;
  clock: { t: number };
}

const made: Setup[] = [];

async function setup(
  storage: RunStorage = new MemoryStorage(),
  client = new FakeTrainerClient(),
): Promise<Setup> {
  const frames: Array<() => void> = [];
  const clock = { t: 1000 };
  const store = createPlaygroundStore({
    client,
    storage,
    now: () => clock.t,
    scheduleFrame: (cb) => frames.push(cb),
    persistDelayMs: 1,
  });
  await store.getState().init();
  const s = { client, store, frames, clock };
  made.push(s);
  return s;
}

function runFrames(frames: Array<() => void>): number {
  const n = frames.length;
  for (const f of frames.splice(0)) f();
  return n;
}

afterEach(() => {
  for (const s of made.splice(0)) {
    s.store.getState().dispose();
    s.client.dispose();
  }
});

describe('playground store', () => {
  it('connects to the engine and starts with the device tab for a newcomer', async () => {
    const { store } = await setup();
    const s = store.getState();
    expect(s.engine.status).toBe('ready');
    expect(s.engine.info?.rosaWorkers).toBe(2);
    expect(s.hydrated).toBe(true);
    expect(s.tab).toBe('device');
  });

  it('says why when there is no engine', async () => {
    const store = createPlaygroundStore({ client: null, clientError: 'engine not available yet' });
    await store.getState().init();
    expect(store.getState().engine).toEqual({
      status: 'unavailable',
      info: null,
      error: 'engine not available yet',
    });
    const res = await store.getState().startExperiment(niah());
    expect(res.started).toEqual([]);
    expect(res.errors[0]).toMatch(/engine is not available \(engine not available yet\)/);
  });

  it('starts one run per variant and applies events once per frame', async () => {
    const { client, store, frames, clock } = await setup();
    const res = await store.getState().startExperiment(niah());
    expect(res.errors).toEqual([]);
    expect(res.started).toHaveLength(3);
    const ids = res.started;
    expect(store.getState().tab).toBe('curves');
    expect(store.getState().experiments[0]).toMatchObject({ label: 'E1', runIds: ids });
    expect(client.calls).toEqual(ids.map((id) => `start ${id}`));

    for (let i = 0; i < 10; i++) {
      clock.t += 50;
      for (const id of ids) client.advance(id, 1);
    }
    // 30 step events + statuses, but a single frame was requested and nothing applied yet
    expect(frames.length).toBe(1);
    const before = store.getState().seriesVersion;
    expect(store.getState().series[ids[0]].train.step).toEqual([]);
    runFrames(frames);
    const s = store.getState();
    expect(s.seriesVersion).toBe(before + 1);
    for (const id of ids) {
      expect(s.runs[id].status).toBe('running');
      expect(s.runs[id].step).toBe(10);
      expect(s.series[id].train.step).toHaveLength(10);
      expect(s.series[id].eval).toHaveLength(1);
      expect(s.runs[id].rate.msPerStep).toBeCloseTo(50);
    }
  });

  it('rejects an invalid draft without calling the engine', async () => {
    const { client, store } = await setup();
    const res = await store.getState().startExperiment({ ...DEFAULT_DRAFT, width: 'x' });
    expect(res.experimentId).toBeNull();
    expect(res.errors).toEqual(['model.width: must be a number (got "x")']);
    expect(client.calls).toEqual([]);
  });

  it('marks a run the engine refuses as failed with its message', async () => {
    const client = new FakeTrainerClient();
    client.start = async () => {
      throw new Error('out of GPU memory');
    };
    const { store } = await setup(new MemoryStorage(), client);
    const res = await store.getState().startExperiment(niah());
    expect(res.failed).toHaveLength(3);
    const run = store.getState().runs[res.failed[0].runId];
    expect(run.status).toBe('failed');
    expect(run.message).toBe('out of GPU memory');
  });

  it('pauses, resumes and stops through the engine, and tells when a control fails', async () => {
    const { client, store, frames } = await setup();
    const { started } = await store.getState().startExperiment(niah());
    const id = started[0];
    await store.getState().pause(id);
    runFrames(frames);
    expect(store.getState().runs[id].status).toBe('paused');
    await store.getState().resume(id);
    runFrames(frames);
    expect(store.getState().runs[id].status).toBe('running');
    await store.getState().stop(id);
    runFrames(frames);
    expect(store.getState().runs[id].status).toBe('stopped');
    expect(client.calls.slice(-3)).toEqual([`pause ${id}`, `resume ${id}`, `stop ${id}`]);
    await store.getState().pause('nope');
    expect(store.getState().notices.at(-1)?.text).toMatch(/Could not pause nope: unknown run nope/);
  });

  it('lists a run loaded from an uploaded checkpoint, keeping the events that came before it', async () => {
    const { client, store, frames } = await setup();
    const { started } = await store.getState().startExperiment(niah());
    client.advance(started[0], 3);
    const own = client.checkpoints.get((await client.saveCheckpoint(started[0])).key)!;
    // The same checkpoint, as if trained in another browser: a run id this page does not know.
    const spec = { ...own.spec, id: 'elsewhere/window', name: 'imported window' };
    const imported = await client.importCheckpoint({
      weights: new Uint8Array(16),
      manifest: JSON.stringify({ spec, step: 3 }),
    });
    // The engine reports the loaded run before loadCheckpoint resolves.
    const loading = store.getState().loadCheckpoint(imported.key, imported.step);
    runFrames(frames);
    const loaded = await loading;
    runFrames(frames);
    expect(loaded?.id).toBe('elsewhere/window');
    const run = store.getState().runs['elsewhere/window'];
    expect(run).toMatchObject({ status: 'paused', step: 3, fromCheckpoint: imported.key });
    expect(store.getState().experiments.at(-1)).toMatchObject({ label: 'C1', runIds: ['elsewhere/window'] });
  });

  it('cuts the curves back when a listed run is loaded from an earlier checkpoint', async () => {
    const { client, store, frames } = await setup();
    const { started } = await store.getState().startExperiment({ ...niah(), checkpointEvery: '5' });
    const id = started[0];
    client.advance(id, 12);
    await new Promise((r) => setTimeout(r, 5));
    runFrames(frames);
    expect(store.getState().runs[id].lastCheckpoint?.step).toBe(10);
    expect(store.getState().series[id].train.step).toHaveLength(12);
    const first = [...client.checkpoints.values()].find((c) => c.info.runId === id && c.info.step === 5)!;
    await store.getState().loadCheckpoint(first.info.key, first.info.step);
    runFrames(frames);
    const run = store.getState().runs[id];
    expect(run).toMatchObject({ status: 'paused', step: 5 });
    expect(run.message).toMatch(/checkpoint at step 5; press Resume/);
    expect(store.getState().series[id].train.step).toEqual([1, 2, 3, 4, 5]);
    expect(store.getState().series[id].eval.map((e) => e.step)).toEqual([]);
    await store.getState().resume(id);
    client.advance(id, 2);
    runFrames(frames);
    expect(store.getState().series[id].train.step).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('deletes runs and their experiment', async () => {
    const { store } = await setup();
    const { started, experimentId } = await store.getState().startExperiment(niah());
    await store.getState().deleteRun(started[0]);
    expect(store.getState().runOrder).toEqual(started.slice(1));
    expect(store.getState().experiments[0].runIds).toEqual(started.slice(1));
    await store.getState().deleteExperiment(experimentId!);
    expect(store.getState().runOrder).toEqual([]);
    expect(store.getState().experiments).toEqual([]);
  });
});

describe('persistence', () => {
  async function roundTrip(makeStorage: () => RunStorage) {
    const first = await setup(makeStorage());
    const { started } = await first.store.getState().startExperiment({ ...niah(), checkpointEvery: '5' });
    for (const id of started) first.client.advance(id, 12);
    await first.client.stop(started[2]);
    runFrames(first.frames);
    await new Promise((r) => setTimeout(r, 5)); // checkpoint events are emitted asynchronously
    runFrames(first.frames);
    await first.store.getState().persistNow();
    const before = first.store.getState();

    // "Reload": a new store (and a fresh engine that knows nothing) on the same storage.
    const second = await setup(makeStorage());
    const after = second.store.getState();
    expect(after.runOrder).toEqual(before.runOrder);
    expect(after.experiments).toEqual(before.experiments);
    expect(after.tab).toBe('curves');
    for (const id of started) {
      expect(after.series[id]).toEqual(before.series[id]);
      expect(after.series[id].train.step).toHaveLength(12);
    }
    // running at reload → interrupted with the checkpoint offered; stopped stays stopped
    const r0 = after.runs[started[0]];
    expect(r0.status).toBe('interrupted');
    expect(r0.lastCheckpoint?.step).toBe(10);
    expect(r0.message).toMatch(/Press Resume to continue from its checkpoint at step 10/);
    expect(after.runs[started[2]].status).toBe('stopped');
    expect(r0.rate.lastAt).toBeUndefined();
  }

  it('resumes a run cut off by a reload from its last checkpoint, through a fresh engine', async () => {
    const storage = new MemoryStorage();
    const first = await setup(storage);
    const { started } = await first.store.getState().startExperiment({ ...niah(), checkpointEvery: '5' });
    const id = started[0];
    first.client.advance(id, 12);
    runFrames(first.frames);
    await new Promise((r) => setTimeout(r, 5));
    runFrames(first.frames);
    await first.store.getState().persistNow();

    // "Reload": a fresh engine holding no runs, with the same checkpoints.
    const engine = new FakeTrainerClient();
    for (const [key, c] of first.client.checkpoints) engine.checkpoints.set(key, c);
    const second = await setup(storage, engine);
    expect(second.store.getState().runs[id].status).toBe('interrupted');
    await second.store.getState().resume(id);
    runFrames(second.frames);
    const resumed = second.store.getState().runs[id];
    expect(second.store.getState().notices).toEqual([]);
    expect(resumed.status).toBe('running');
    expect(resumed.step).toBe(10);
    // The two steps after the checkpoint are redone, not kept twice.
    expect(second.store.getState().series[id].train.step).toHaveLength(10);
    engine.advance(id, 30);
    runFrames(second.frames);
    expect(second.store.getState().runs[id]).toMatchObject({ status: 'finished', step: 40 });
  });

  it('offers the runs a lost GPU device stopped, and resumes them in one call', async () => {
    const { client, store, frames } = await setup();
    const { started } = await store.getState().startExperiment({ ...niah(), checkpointEvery: '5' });
    for (const id of started) client.advance(id, 7);
    await new Promise((r) => setTimeout(r, 5));
    client.loseDevice(started.slice(0, 2));
    runFrames(frames);
    expect(store.getState().runs[started[0]].deviceLost).toEqual({
      reason: 'destroyed: test',
      checkpointStep: 5,
    });
    expect(store.getState().runs[started[2]].deviceLost).toBeUndefined();
    await store.getState().resumeAffected();
    runFrames(frames);
    expect(client.calls).toContain(`resumeAffected ${started[0]},${started[1]}`);
    for (const id of started.slice(0, 2)) {
      expect(store.getState().runs[id]).toMatchObject({ status: 'running', step: 5, deviceLost: undefined });
    }
  });

  it('round-trips through memory storage', async () => {
    const storage = new MemoryStorage();
    await roundTrip(() => storage);
  });

  it('round-trips through the IndexedDB wrapper', async () => {
    const idb = new FakeIndexedDb();
    await roundTrip(() => new IndexedDbStorage(idb.asFactory()));
    expect(idb.databases.has('rosa-playground')).toBe(true);
  });

  it('IndexedDB wrapper deletes and clears', async () => {
    const idb = new FakeIndexedDb();
    const { store } = await setup(new IndexedDbStorage(idb.asFactory()));
    const { started } = await store.getState().startExperiment(niah());
    await store.getState().persistNow();
    await store.getState().deleteRun(started[0]);
    let stored = await new IndexedDbStorage(idb.asFactory()).loadAll();
    expect(stored.runs.map((r) => r.id).sort()).toEqual(started.slice(1).sort());
    expect(Object.keys(stored.series).sort()).toEqual(started.slice(1).sort());
    await store.getState().clearAll();
    stored = await new IndexedDbStorage(idb.asFactory()).loadAll();
    expect(stored).toEqual({ experiments: [], runs: [], series: {} });
  });

  it('falls back to memory and says so when IndexedDB refuses to open', async () => {
    const idb = new FakeIndexedDb();
    idb.refuse = 'QuotaExceededError';
    const { store } = await setup(new IndexedDbStorage(idb.asFactory()));
    expect(store.getState().storageKind).toBe('memory');
    expect(store.getState().storageError).toMatch(/cannot be kept across reloads: QuotaExceededError/);
    const res = await store.getState().startExperiment(niah());
    expect(res.started).toHaveLength(3);
  });
});
