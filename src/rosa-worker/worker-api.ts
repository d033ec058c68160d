// What one ROSA worker exposes (through Comlink), identical in the browser and in Node: scan a
// range of lanes. With shared memory the job carries views on SharedArrayBuffers and the worker
// writes the outputs in place; without, it carries its own copies of the lanes' symbols and
// returns freshly made outputs as transferables (never structured-cloned).

import { transfer } from 'comlink';
import type { ScanArena, ScanEngine } from './arena.ts';
import { allocateScanOutputs, type RosaMode, type ScanOutputs, type ScanShape } from './layout.ts';
import { scanLanes } from './scan.ts';

/** Test-only faults a job can ask for, to check that the pool reports instead of hanging. */
export type InjectedFault = 'throw' | 'uncaught' | 'exit' | 'hang';

export interface WorkerJob {
  mode: RosaMode;
  /** Shape of the arrays in this job (the whole batch when shared, the chunk when copied). */
  shape: ScanShape;
  laneStart: number;
  laneEnd: number;
  qSym: Uint8Array;
  kSym: Uint8Array;
  /** Views on shared outputs to write in place, or null: make and return them. */
  outputs: ScanOutputs | null;
  /** Build the inverse index lists too (default true). */
  inverseIndices?: boolean;
  /** Which code runs the 'rosa-tuning' walk (default 'auto': wasm where this worker has it). */
  engine?: ScanEngine;
  fault?: InjectedFault;
}

export interface WorkerReply {
  /** Present when the job had no shared outputs (transferred back, not copied). */
  outputs?: ScanOutputs;
  /** Lanes of this job that needed the ancestry index (periodic-like input). */
  indexedLanes: number;
  /** Milliseconds spent scanning in the worker. */
  ms: number;
}

export interface WorkerApi {
  scan(job: WorkerJob): WorkerReply | Promise<WorkerReply>;
  ping(): string;
}

/** `crash` carries out the platform-specific faults ('uncaught', 'exit'). */
export function createWorkerApi(crash: (kind: 'uncaught' | 'exit') => void): WorkerApi {
  let arena: ScanArena | undefined;
  return {
    ping: () => 'pong',
    scan(job: WorkerJob): WorkerReply | Promise<WorkerReply> {
      if (job.fault === 'throw') throw new Error('injected fault: the scan threw');
      if (job.fault === 'uncaught' || job.fault === 'exit') {
        crash(job.fault);
        return new Promise<WorkerReply>(() => {}); // the crash, not a reply, ends this job
      }
      if (job.fault === 'hang') for (;;) {}
      const started = performance.now();
      const outputs = job.outputs ?? allocateScanOutputs(job.shape);
      const before = arena?.indexedLanes ?? 0;
      const used = scanLanes(
        { mode: job.mode, shape: job.shape, qSym: job.qSym, kSym: job.kSym },
        outputs,
        job.laneStart,
        job.laneEnd,
        arena,
        { inverseIndices: job.inverseIndices, engine: job.engine ?? 'auto' },
      );
      const indexedLanes = used === arena ? used.indexedLanes - before : used.indexedLanes;
      arena = used;
      const reply: WorkerReply = { indexedLanes, ms: performance.now() - started };
      if (job.outputs) return reply;
      reply.outputs = outputs;
      return transfer(
        reply,
        Object.values(outputs).map((a: Int32Array) => a.buffer as ArrayBuffer),
      );
    },
  };
}
