// Tiny NIAH and text run specs and an in-process CPU engine, shared by the engine, checkpoint,
// generation and worker tests.

import type { CheckpointStore } from '../../src/gpu/checkpoint/store.ts';
import type { RosaScanner } from '../../src/gpu/model/backend.ts';
import { defaultModelConfig, type Variant } from '../../src/gpu/model/config.ts';
import { inlineScanner } from '../../src/gpu/model/scanners.ts';
import { TrainerEngine } from '../../src/gpu/train/engine.ts';
import type { RunSpec, TrainConfig } from '../../src/gpu/train/protocol.ts';
import type { CorpusLoader } from '../../src/gpu/train/tasks.ts';
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

/** A short repeated English text: what the generation tests train on. */
export const FOX_TEXT = 'the quick brown fox jumps over the lazy dog; a whale, a ship. '.repeat(20);

/** A one-layer model of `variant` on FOX_TEXT at `seqLen` tokens, `steps` steps of batch 2. */
export function tinyTextSpec(
  id: string,
  variant: Variant,
  options: { seqLen: number; steps: number; backend?: RunSpec['backend']; lrsaSink?: number },
): RunSpec {
  const { seqLen, steps, backend = 'cpu', lrsaSink = 1 } = options;
  return {
    id,
    name: id,
    backend,
    task: { kind: 'text', source: 'user', text: FOX_TEXT, name: 'fox', seqLen },
    model: defaultModelConfig({
      seqLen,
      layers: 1,
      width: 16,
      heads: 2,
      mlpHidden: 16,
      window: 4,
      variant,
      lrsa: { sink: lrsaSink, chunk: 4, ratio: 0.5, scoreVRatio: 1 },
    }),
    train: defaultTrainConfig({ steps, batchSize: 2, evalEvery: 0, warmupSteps: 1 }),
  };
}

/** The engine as the browser worker runs it, in this process, with no GPU. */
export function cpuEngine(
  store: CheckpointStore | null,
  scanner: RosaScanner = inlineScanner(),
  loadCorpus: CorpusLoader = async () => '',
): TrainerEngine {
  return new TrainerEngine({
    env: { gpu: null, scanner, loadCorpus, store },
    info: () => ({
      adapter: null,
      gpuError: 'none',
      crossOriginIsolated: false,
      rosaWorkers: 0,
      rosaSharedMemory: false,
    }),
  });
}
