// A RosaScanner that scans on the calling thread (tests, the CPU backend without workers).
// The worker pool in src/rosa-worker implements the same interface for real runs.

import {
  allocateScanInputs,
  allocateScanOutputs,
  type RosaMode,
  type ScanOutputs,
  type ScanShape,
} from '../../rosa-worker/layout.ts';
import type { RosaWorkerPool } from '../../rosa-worker/pool.ts';
import { type ScanArena, scanLanes } from '../../rosa-worker/scan.ts';
import type { RosaScanner } from './backend.ts';

export function inlineScanner(): RosaScanner {
  let arena: ScanArena | undefined;
  return {
    workers: 0,
    sharedMemory: false,
    allocateOutputs: (shape) => allocateScanOutputs(shape),
    async scan(
      mode: RosaMode,
      shape: ScanShape,
      qSym: Uint8Array,
      kSym: Uint8Array,
      out: ScanOutputs,
      options = {},
    ) {
      arena = scanLanes({ mode, shape, qSym, kSym }, out, 0, shape.lanes, arena, options);
    },
  };
}

/** Adapts the ROSA worker pool to the model's scanner interface. */
export function poolScanner(pool: RosaWorkerPool): RosaScanner {
  const shared = pool.memory === 'shared';
  // Input buffers of the last shape not in use: calls in flight together (micro-batches) each
  // need their own, as the workers read them while the next call copies its symbols.
  let idle: { key: string; free: Array<{ qSym: Uint8Array; kSym: Uint8Array }> } = { key: '', free: [] };
  return {
    get workers() {
      return pool.size;
    },
    sharedMemory: shared,
    allocateOutputs: (shape) => allocateScanOutputs(shape, shared),
    async scan(mode, shape, qSym, kSym, out, options = {}) {
      // The pool reads symbols in place from shared memory: copy them there once per call.
      const key = `${shape.lanes}:${shape.T}:${shape.bits}`;
      if (idle.key !== key) idle = { key, free: [] };
      const free = idle.free;
      const inputs = free.pop() ?? allocateScanInputs(shape, shared);
      try {
        inputs.qSym.set(qSym.subarray(0, inputs.qSym.length));
        inputs.kSym.set(kSym.subarray(0, inputs.kSym.length));
        await pool.scan({ mode, shape, qSym: inputs.qSym, kSym: inputs.kSym }, out, {
          routes: undefined,
          timeoutMs: 120_000,
          inverseIndices: options.inverseIndices,
        });
      } finally {
        free.push(inputs);
      }
    },
    async terminate() {
      await pool.terminate();
    },
  };
}
