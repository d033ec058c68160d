// The CLI's way through a lost GPU device (device-recovery.ts): the run stops, a new device is
// made, and training continues from the latest checkpoint to the same losses an uninterrupted
// run reaches; with no checkpoint it trains again from step 0.

import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import type { GpuContext } from '../../../src/gpu/context.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { createNodeGpuContext } from '../../../src/gpu/platform/node.ts';
import { trainRecoveringDevice } from '../../../src/gpu/train/device-recovery.ts';
import { createRun, type EngineEnv } from '../../../src/gpu/train/factory.ts';
import type { RunSpec, TrainerEvent } from '../../../src/gpu/train/protocol.ts';
import { tinyNiahSpec } from '../../harness/engine.ts';

const spec = (checkpointEvery: number, steps = 4): RunSpec => ({
  ...tinyNiahSpec('cli-run', { steps, checkpointEvery }),
  backend: 'webgpu',
});

/** Trains `spec`, destroying the device when step `loseAt` is reported; the losses by step. */
async function train(s: RunSpec, loseAt: number | null) {
  const env: EngineEnv = {
    gpu: await createNodeGpuContext(),
    scanner: inlineScanner(),
    loadCorpus: async () => '',
    store: new MemoryCheckpointStore(),
  };
  const losses = new Map<number, number>();
  let lost = false;
  const emit = (e: TrainerEvent) => {
    if (e.type !== 'step') return;
    losses.set(e.metrics.step, e.metrics.loss);
    if (e.metrics.step === loseAt && !lost) {
      lost = true;
      env.gpu?.device.destroy();
    }
  };
  const lines: string[] = [];
  const devices: GpuContext[] = [];
  const { run, recoveries } = await trainRecoveringDevice(await createRun(s, env, emit), {
    env,
    emit,
    newGpu: async () => {
      const gpu = await createNodeGpuContext();
      devices.push(gpu);
      return gpu;
    },
    restart: () => createRun(s, env, emit),
    log: (line) => lines.push(line),
  });
  const result = { status: run.status, step: run.step, recoveries, losses, lines, devices: devices.length };
  run.model.dispose();
  return result;
}

describe('headless training through a lost GPU device', () => {
  it('resumes from the latest checkpoint on a new device and ends where an uninterrupted run does', async () => {
    const clean = await train(spec(2), null);
    const lost = await train(spec(2), 3);
    expect(lost).toMatchObject({ status: 'finished', step: 4, recoveries: 1, devices: 1 });
    expect(lost.lines[0]).toMatch(/lost at step 3 .*resuming from the checkpoint of step 2/);
    for (const step of [3, 4]) expect(lost.losses.get(step)).toBeCloseTo(clean.losses.get(step)!, 5);
  }, 300_000);

  it('trains again from step 0 when no checkpoint was saved', async () => {
    const lost = await train(spec(0, 2), 1);
    expect(lost).toMatchObject({ status: 'finished', step: 2, recoveries: 1 });
    expect(lost.lines[0]).toMatch(/no checkpoint saved, so training again from step 0/);
  }, 300_000);
});
