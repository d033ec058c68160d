// Headless training that survives a lost GPU device (a driver reset, a GPU taken by another
// process): the run stops with a device-lost error, a new device is made, and the run
// continues from its latest stored checkpoint, or from the start when none was saved. The
// page does the same through the engine (engine.ts recoverDevice / resumeAffected); the CLI,
// which drives runs itself, uses this.

import type { GpuContext } from '../context.ts';
import { type AnyRun, createRun, type EngineEnv } from './factory.ts';
import type { TrainerEvent } from './protocol.ts';
import { runFromLatestCheckpoint } from './restore.ts';

export interface RecoveryOptions {
  /** The run's environment; its `gpu` is replaced by each new device. */
  env: EngineEnv;
  emit: (event: TrainerEvent) => void;
  /** Makes a new device after a loss. */
  newGpu: () => Promise<GpuContext>;
  /** Builds the run again from scratch (no checkpoint saved yet), on the current env.gpu. */
  restart: () => Promise<AnyRun>;
  log: (line: string) => void;
  /** Devices lost in one run before giving up. */
  maxRecoveries?: number;
}

/** Trains `run` to its end; after a lost device, continues on a new one. Returns the run that finished (or failed). */
export async function trainRecoveringDevice(
  first: AnyRun,
  options: RecoveryOptions,
): Promise<{ run: AnyRun; recoveries: number }> {
  const { env, emit, newGpu, restart, log, maxRecoveries = 2 } = options;
  let run = first;
  let recoveries = 0;
  while (true) {
    await run.run();
    const lost = env.gpu?.lost ?? null;
    if (run.status !== 'failed' || lost === null) return { run, recoveries };
    if (recoveries >= maxRecoveries) {
      log(`the GPU device was lost ${recoveries + 1} times; giving up on this run`);
      return { run, recoveries };
    }
    recoveries++;
    const stoppedAt = run.step;
    try {
      run.dispose();
    } catch {
      // Its buffers went with the device.
    }
    env.gpu = await newGpu();
    const resumed = env.store
      ? await runFromLatestCheckpoint(env.store, run.spec.id, async (contents) =>
          createRun(contents.manifest.spec, env, emit, { resume: contents }),
        )
      : null;
    if (!resumed) {
      log(
        `GPU device lost at step ${stoppedAt} (${lost}); no checkpoint saved, so training again from step 0 on a new device`,
      );
      run = await restart();
      continue;
    }
    log(
      `GPU device lost at step ${stoppedAt} (${lost}); resuming from the checkpoint of step ${resumed.step} on a new device`,
    );
    run = resumed;
  }
}
