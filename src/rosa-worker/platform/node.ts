// Node: the ROSA worker pool on worker_threads. Workers start from node-worker.mjs, which registers
// tsx so the same TypeScript sources run under vitest, `tsx` scripts and the CLI.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type PoolMemory, RosaWorkerPool, type WorkerHandle } from '../pool.ts';
import { nodeEndpoint } from './node-endpoint.ts';

const bootstrap = new URL('./node-worker.mjs', import.meta.url);

export function spawnNodeWorker(id: number): WorkerHandle {
  // A clean execArgv: the bootstrap brings its own TypeScript loader.
  const worker = new Worker(bootstrap, { name: `rosa-worker-${id}`, execArgv: [] });
  let stopping = false;
  let listener: ((error: Error) => void) | null = null;
  const fail = (error: Error) => {
    if (stopping || !listener) return;
    const notify = listener;
    listener = null;
    notify(error);
  };
  worker.on('error', (error) => fail(error));
  worker.on('messageerror', (error) => fail(error));
  worker.on('exit', (code) => fail(new Error(`worker thread exited with code ${code}`)));
  return {
    endpoint: nodeEndpoint(worker),
    onFailure(l) {
      listener = l;
    },
    async terminate() {
      stopping = true;
      await worker.terminate();
    },
  };
}

export interface NodePoolOptions {
  /** Workers (default: os.availableParallelism()). */
  size?: number;
  /** Force 'transfer' to exercise the path browsers take without cross-origin isolation. */
  memory?: PoolMemory;
}

export function createNodeRosaPool(options: NodePoolOptions = {}): RosaWorkerPool {
  return new RosaWorkerPool(spawnNodeWorker, options.size ?? availableParallelism(), options.memory);
}
