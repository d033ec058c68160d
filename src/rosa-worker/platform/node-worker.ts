// Node worker entry (worker_threads), started through node-worker.mjs.

import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink';
import { createWorkerApi } from '../worker-api.ts';
import { nodeEndpoint } from './node-endpoint.ts';

if (!parentPort) throw new Error('node-worker.ts must run inside a worker thread');

expose(
  createWorkerApi((kind) => {
    if (kind === 'exit') process.exit(70);
    setTimeout(() => {
      throw new Error('injected fault: uncaught error in the ROSA worker');
    });
  }),
  nodeEndpoint(parentPort),
);
