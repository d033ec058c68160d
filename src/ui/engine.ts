// The one place the app gets its training engine from. The lead wires this to the trainer
// worker (a Comlink proxy implementing TrainerClient); until then it says so clearly and
// the page still shows the device, the setup form and any runs kept from earlier visits.

import type { TrainerClient } from '../gpu/train/client.ts';

export class EngineUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineUnavailableError';
  }
}

/** Returns the engine; throws EngineUnavailableError when this build has none. */
export function getTrainerClient(): TrainerClient {
  throw new EngineUnavailableError(
    'The training engine is not available yet in this build (the trainer worker is not wired to the page). ' +
      'You can prepare experiments and look at earlier runs, but not train.',
  );
}
