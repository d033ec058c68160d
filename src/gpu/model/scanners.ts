// A RosaScanner that scans on the calling thread (tests, the CPU backend without workers).
// The worker pool in src/rosa-worker implements the same interface for real runs.

import { allocateScanOutputs, type RosaMode, type ScanOutputs, type ScanShape } from '../../rosa-worker/layout.ts';
import { type ScanArena, scanLanes } from '../../rosa-worker/scan.ts';
import type { RosaScanner } from './backend.ts';

export function inlineScanner(): RosaScanner {
  let arena: ScanArena | undefined;
  return {
    workers: 0,
    sharedMemory: false,
    allocateOutputs: (shape) => allocateScanOutputs(shape),
    async scan(mode: RosaMode, shape: ScanShape, qSym: Uint8Array, kSym: Uint8Array, out: ScanOutputs) {
      arena = scanLanes({ mode, shape, qSym, kSym }, out, 0, shape.lanes, arena);
    },
  };
}
