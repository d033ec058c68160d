// Browser worker entry (bundled by Vite: new Worker(new URL('./worker.ts', import.meta.url))).

import { expose } from 'comlink';
import { createWorkerApi } from './worker-api.ts';

expose(
  createWorkerApi(() => {
    // A browser worker cannot exit by itself; an uncaught error is what the page sees of a crash.
    setTimeout(() => {
      throw new Error('injected fault: uncaught error in the ROSA worker');
    });
  }),
);
