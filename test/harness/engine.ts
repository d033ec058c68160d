// A tiny NIAH run spec and an in-process CPU engine, shared by the engine, checkpoint and
// worker tests.

import type { CheckpointStore } from '../../src/gpu/checkpoint/store.ts';
import type { RosaScanner } from '../../src/gpu/model/backend.ts';
import { defaultModelConfig } from '../../src/gpu/model/config.ts';
import { inlineScanner } from '../../src/gpu/model/scanners.ts';
import { TrainerEngine } from '../../src/gpu/train/engine.ts';
import type { RunSpec, TrainConfig } from '../../src/gpu/train/protocol.ts';
import { defaultTrainConfig } from '../../src/gpu/train/train-config.ts';

/** A one-layer window+rosa model on 24-token NIAH, trained `steps` steps on the CPU backend. */
export function tinyNiahSpec(id: string, train: Partial<TrainConfig> = {}): RunSpec {
  return {
    id,
    name: id,
    backend: 'cpu',
    task: { kind: 'niah', seqLen: 24, keyLength: 1, filler: 'random' },
    model: defaultModelConfig({
      seqLen: 24,
      layers: 1,
      width: 16,
      heads: 2,
      mlpHidden: 16,
      window: 4,
      variant: 'window+rosa',
    }),
    train: defaultTrainConfig({ steps: 6, batchSize: 2, evalEvery: 0, warmupSteps: 1, ...train }),
  };
}

/** The engine as the browser worker runs it, in this process, with no GPU. */
export function cpuEngine(
  store: CheckpointStore | null,
  scanner: RosaScanner = inlineScanner(),
): TrainerEngine {
  return new TrainerEngine({
    env: { gpu: null, scanner, loadCorpus: async () => '', store },
    info: () => ({
      adapter: null,
      gpuError: 'none',
      crossOriginIsolated: false,
      rosaWorkers: 0,
      rosaSharedMemory: false,
    }),
  });
}
