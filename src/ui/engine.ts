// The one place the app gets its training engine from: the trainer worker (a Comlink proxy
// implementing TrainerClient). Throws EngineUnavailableError where no worker can be started.

import type { TrainerClient } from '../gpu/train/client.ts';
import { createWorkerTrainerClient } from '../gpu/train/worker-client.ts';

export class EngineUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineUnavailableError';
  }
}

/** Returns the engine; throws EngineUnavailableError when this browser cannot run it. */
export function getTrainerClient(): TrainerClient {
  if (typeof Worker !== 'function') {
    throw new EngineUnavailableError('This browser cannot start Web Workers, which the trainer runs in.');
  }
  return createWorkerTrainerClient();
}
