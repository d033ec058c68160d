// A lost GPU device (here destroyed, which resolves device.lost as a driver reset would) stops
// the runs on it. The engine makes a new device, so new runs start without a reload, and one
// call resumes each stopped run from its last good checkpoint.

import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { createNodeGpuContext } from '../../../src/gpu/platform/node.ts';
import { TrainerEngine } from '../../../src/gpu/train/engine.ts';
import type { RunSpec, TrainerEvent } from '../../../src/gpu/train/protocol.ts';
import { tinyNiahSpec } from '../../harness/engine.ts';

const onGpu = (id: string, steps: number): RunSpec => ({
  ...tinyNiahSpec(id, { steps, checkpointEvery: 2 }),
  backend: 'webgpu',
});

describe('a lost GPU device', () => {
  it('is replaced for new runs, and the run it stopped resumes from its checkpoint', async () => {
    const store = new MemoryCheckpointStore();
    let devices = 0;
    const first = await createNodeGpuContext();
    const engine = new TrainerEngine({
      env: { gpu: first, scanner: inlineScanner(), loadCorpus: async () => '', store },
      info: (gpu) => ({
        adapter: gpu?.adapter ?? null,
        gpuError: gpu?.lost ?? null,
        crossOriginIsolated: false,
        rosaWorkers: 0,
        rosaSharedMemory: false,
      }),
      createGpu: () => {
        devices++;
        return createNodeGpuContext();
      },
    });
    const events: TrainerEvent[] = [];
    engine.subscribe((e) => {
      events.push(e);
      if (e.type === 'step' && e.runId === 'a' && e.metrics.step === 3) first.device.destroy();
    });
    const of = (runId: string, type: TrainerEvent['type']) =>
      events.filter((e) => e.runId === runId && e.type === type);

    await engine.start(onGpu('a', 6));
    await engine.idle();
    expect(of('a', 'status').at(-1)).toMatchObject({ status: 'failed', step: 3 });
    await expect.poll(() => of('a', 'device-lost').length).toBe(1);
    expect(of('a', 'device-lost')[0]).toMatchObject({ checkpointStep: 2 });
    expect((await engine.recoverDevice()).affected).toEqual([{ runId: 'a', checkpointStep: 2 }]);

    // A new run trains on a new device, without a reload.
    await engine.start(onGpu('b', 2));
    await engine.idle();
    expect(of('b', 'status').at(-1)).toMatchObject({ status: 'finished', step: 2 });
    expect(engine.gpu).not.toBe(first);
    expect(engine.gpu?.lost).toBeNull();
    expect(devices).toBe(1);
    expect((await engine.info()).gpuError).toBeNull();

    // One call: the stopped run continues from step 2 to its end.
    const mark = events.length;
    const recovery = await engine.resumeAffected();
    expect(recovery.affected).toEqual([{ runId: 'a', checkpointStep: 2, resumed: true }]);
    await engine.idle();
    const after = events.slice(mark).filter((e) => e.runId === 'a');
    expect(after.find((e) => e.type === 'status')).toMatchObject({ status: 'running', step: 2 });
    expect(after.flatMap((e) => (e.type === 'step' ? [e.metrics.step] : []))).toEqual([3, 4, 5, 6]);
    expect(after.at(-1)).toMatchObject({ type: 'status', status: 'finished', step: 6 });
    expect((await engine.recoverDevice()).affected).toEqual([]);
  });
});
