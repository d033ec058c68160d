// Browser: the ROSA worker pool on module Web Workers (bundled by Vite). Without cross-origin
// isolation there is no SharedArrayBuffer and the pool reports memory = 'transfer'.

import { type PoolMemory, RosaWorkerPool, type WorkerHandle } from '../pool.ts';

export function spawnBrowserWorker(id: number): WorkerHandle {
  const worker = new Worker(new URL('../worker.ts', import.meta.url), {
    type: 'module',
    name: `rosa-worker-${id}`,
  });
  let listener: ((error: Error) => void) | null = null;
  const fail = (error: Error) => {
    if (!listener) return;
    const notify = listener;
    listener = null;
    notify(error);
  };
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    fail(new Error(event.message || 'the worker failed to load or threw an uncaught error'));
  });
  worker.addEventListener('messageerror', () =>
    fail(new Error('a message from the worker could not be read')),
  );
  return {
    endpoint: worker,
    onFailure(l) {
      listener = l;
    },
    async terminate() {
      listener = null;
      worker.terminate();
    },
  };
}

export interface BrowserPoolOptions {
  /** Workers (default: navigator.hardwareConcurrency, at least 1). */
  size?: number;
  memory?: PoolMemory;
}

export function createBrowserRosaPool(options: BrowserPoolOptions = {}): RosaWorkerPool {
  const size = options.size ?? Math.max(1, navigator.hardwareConcurrency || 1);
  return new RosaWorkerPool(spawnBrowserWorker, size, options.memory);
}
