import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { createRun } from '../../../src/gpu/train/factory.ts';
import type { RunSpec, TrainerEvent } from '../../../src/gpu/train/protocol.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';
import { cpuEngine, tinyNiahSpec } from '../../harness/engine.ts';

function engine() {
  const store = new MemoryCheckpointStore();
  const e = cpuEngine(store);
  const events: TrainerEvent[] = [];
  e.subscribe((ev) => events.push(ev));
  return { e, events, store };
}

/** The shared tiny NIAH run, evaluated every 3 of its 6 steps. */
function spec(id: string, overrides: Partial<RunSpec> = {}): RunSpec {
  return { ...tinyNiahSpec(id, { evalEvery: 3, evalBatches: 1 }), ...overrides };
}

describe('trainer engine (CPU backend, in process)', () => {
  it('trains a run to the end with step, eval, checkpoint and status events', async () => {
    const { e, events, store } = engine();
    await e.start(spec('a'));
    await e.idle();
    const steps = events.filter((x) => x.type === 'step');
    expect(steps.length).toBe(6);
    expect(events.filter((x) => x.type === 'eval').length).toBe(2);
    const last = events.filter((x) => x.type === 'status').at(-1);
    expect(last).toMatchObject({ status: 'finished', step: 6 });
    const list = await store.list();
    expect(list.map((c) => c.step)).toEqual([6]);
    for (const s of steps) if (s.type === 'step') expect(Number.isFinite(s.metrics.loss)).toBe(true);
  });

  it('runs two runs side by side, interleaving their steps', async () => {
    const { e, events } = engine();
    await e.start(spec('x'));
    await e.start(spec('y'));
    await e.idle();
    const order = events.filter((x) => x.type === 'step').map((x) => x.runId);
    expect(order.filter((r) => r === 'x').length).toBe(6);
    expect(order.filter((r) => r === 'y').length).toBe(6);
    // Interleaved, not one run after the other.
    expect(order.slice(0, 6).includes('y')).toBe(true);
  });

  it('pauses, resumes and stops', async () => {
    const { e, events } = engine();
    await e.start(
      spec('p', { train: defaultTrainConfig({ steps: 10_000, batchSize: 2, evalEvery: 0, warmupSteps: 1 }) }),
    );
    await e.pause('p');
    await new Promise((r) => setTimeout(r, 50));
    const stepsWhilePaused = events.filter((x) => x.type === 'step').length;
    await new Promise((r) => setTimeout(r, 100));
    expect(events.filter((x) => x.type === 'step').length).toBe(stepsWhilePaused);
    expect(events.some((x) => x.type === 'status' && x.status === 'paused')).toBe(true);
    await e.resume('p');
    await new Promise((r) => setTimeout(r, 100));
    await e.stop('p');
    await e.idle();
    const steps = events.filter((x) => x.type === 'step').length;
    expect(steps).toBeGreaterThan(stepsWhilePaused);
    expect(steps).toBeLessThan(10_000);
    expect(events.filter((x) => x.type === 'status').at(-1)).toMatchObject({ status: 'stopped' });
  });

  it('rejects an invalid spec with the fields named', async () => {
    const { e, events } = engine();
    const bad = spec('bad');
    bad.model = { ...bad.model, heads: 3 };
    bad.train = { ...bad.train, lr: -1 };
    await expect(e.start(bad)).rejects.toThrow(/heads.*must divide width|train\.lr/);
    const err = events.find((x) => x.type === 'error');
    expect(err && err.type === 'error' && err.fields?.map((f) => f.field).sort()).toEqual([
      'model.heads',
      'train.lr',
    ]);
  });

  it("starts a run from another run's checkpoint, and evaluates one without training", async () => {
    const { e, events, store } = engine();
    const global = spec('g', { model: { ...spec('g').model, variant: 'global' } });
    await e.start(global);
    await e.idle();
    const [saved] = await store.list();
    const globalEval = events.filter((x) => x.type === 'eval' && x.runId === 'g').at(-1);
    // The same weights under a window, evaluated only: no step, one evaluation, finished.
    const windowed = spec('w', {
      model: { ...global.model, variant: 'window' },
      from: saved.key,
      evalOnly: true,
    });
    await e.start(windowed);
    const ofW = events.filter((x) => x.runId === 'w');
    expect(ofW.filter((x) => x.type === 'step')).toEqual([]);
    const evalW = ofW.find((x) => x.type === 'eval');
    expect(evalW?.type === 'eval' && evalW.metrics.step).toBe(0);
    expect(ofW.filter((x) => x.type === 'status').at(-1)).toMatchObject({ status: 'finished' });
    // Under the window the global weights do worse than under global attention.
    expect(evalW?.type === 'eval' && globalEval?.type === 'eval' && evalW.metrics.loss).not.toBe(
      globalEval?.type === 'eval' && globalEval.metrics.loss,
    );
    // evalOnly needs weights to evaluate.
    await expect(e.start(spec('x', { evalOnly: true }))).rejects.toThrow(/evalOnly needs "from"/);
  });

  it('stops with a clear message on a non-finite loss and keeps the last good checkpoint', async () => {
    const { store } = engine();
    const events: TrainerEvent[] = [];
    const s = spec('nan', {
      train: defaultTrainConfig({
        steps: 10,
        batchSize: 2,
        evalEvery: 0,
        checkpointEvery: 2,
        warmupSteps: 1,
      }),
    });
    const run = await createRun(
      s,
      { gpu: null, scanner: inlineScanner(), loadCorpus: async () => '', store },
      (ev) => events.push(ev),
    );
    for (let i = 0; i < 3; i++) await run.advance();
    // Corrupt one weight, as an overflowing update would.
    const embed = run.model.params.get('embed')!;
    const [broken] = await run.model.backend.read([embed.param]);
    broken[0] = Number.NaN;
    run.model.backend.write(embed.param, broken);
    expect(await run.advance()).toBe(false);
    const err = events.find((x) => x.type === 'error');
    expect(err?.type === 'error' && err.message).toMatch(
      /loss became NaN at step 4.*stopped.*last good checkpoint is "nan-step2"/,
    );
    expect(run.status).toBe('failed');
    expect((await store.list()).map((c) => c.step)).toEqual([2]);
  });

  it('saves, loads and resumes a checkpoint; rejects malformed uploads clearly', async () => {
    const { e, store } = engine();
    await e.start(
      spec('c', { train: defaultTrainConfig({ steps: 4, batchSize: 2, evalEvery: 0, warmupSteps: 1 }) }),
    );
    await e.idle();
    const [info] = await store.list();
    const files = await e.exportCheckpoint(info.key);
    const loaded = await e.loadCheckpoint(info.key);
    expect(loaded.id).toBe('c');
    const map = await e.retrievalMap('c', 0, 0);
    expect(map.dest.length).toBe(map.routes * map.T);
    await e.deleteCheckpoint(info.key);
    expect(await store.list()).toEqual([]);
    const imported = await e.importCheckpoint(files);
    expect(imported.step).toBe(4);
    await expect(
      e.importCheckpoint({ weights: new Uint8Array(10), manifest: files.manifest }),
    ).rejects.toThrow(/uploaded \.safetensors/);
    await expect(
      e.importCheckpoint({ weights: files.weights, manifest: '{"format": "something else"}' }),
    ).rejects.toThrow(/not a ROSA Playground checkpoint/);
    // A checkpoint of another configuration does not fit this manifest.
    const other = await e.exportCheckpoint(imported.key);
    const manifest = JSON.parse(other.manifest);
    manifest.spec.model.width = 32;
    await expect(
      e.importCheckpoint({ weights: other.weights, manifest: JSON.stringify(manifest) }),
    ).rejects.toThrow(/shape \[.*\].*needs/);
  });

  it('answers NIAH queries and grids, and explains bad input', async () => {
    const { e } = engine();
    await e.start(
      spec('n', { train: defaultTrainConfig({ steps: 2, batchSize: 2, evalEvery: 0, warmupSteps: 1 }) }),
    );
    await e.idle();
    const answer = await e.niahQuery({ runId: 'n', haystack: 'the grass is green', key: '7', depth: 0.5 });
    expect(answer.answer.length).toBeGreaterThan(0);
    expect(answer.correct).toBe(answer.answer === '7');
    expect(answer.tokens[answer.needlePos]).toBe('⟨K⟩');
    expect(answer.tokens[answer.queryPos]).toBe('⟨Q⟩');
    expect(answer.retrievals.length).toBeGreaterThan(0);
    await expect(
      e.niahQuery({ runId: 'n', haystack: 'x'.repeat(100), key: '7', depth: 0.5 }),
    ).rejects.toThrow(/haystack: .* longer/);
    await expect(e.niahQuery({ runId: 'n', haystack: 'abc', key: '12', depth: 0.5 })).rejects.toThrow(
      /key: .*1-digit/,
    );
    const grid = await e.niahGrid('n', [12, 24], [0, 1], 2);
    expect(grid.length).toBe(4);
    for (const c of grid) expect(c.accuracy).toBeGreaterThanOrEqual(0);
  });
});
