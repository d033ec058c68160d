// The ROSA scan pool for Node scripts: worker_threads, one per core by default.

import { availableParallelism } from 'node:os';
import type { RosaScanner } from '../src/gpu/model/backend.ts';
import { poolScanner } from '../src/gpu/model/scanners.ts';
import { createNodeRosaPool } from '../src/rosa-worker/platform/node.ts';

export async function createNodeScanner(workers = availableParallelism()): Promise<RosaScanner> {
  return poolScanner(createNodeRosaPool({ size: Math.max(1, workers) }));
}
