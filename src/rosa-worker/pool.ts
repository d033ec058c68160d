// A pool of ROSA workers (Comlink over Web Workers or worker_threads) that splits a batch's lanes
// among them. With shared memory the workers read symbols from and write outputs to the caller's
// SharedArrayBuffers in place; without (a page that is not cross-origin isolated, or outputs in
// plain ArrayBuffers) each chunk's symbols go out and its outputs come back as transferables.
// A worker that throws, dies or overruns the timeout makes scan() reject with a RosaWorkerError
// naming the lanes and the shape; dead workers are replaced on the next scan (or by restart()).

import { type Endpoint, type Remote, transfer, wrap } from 'comlink';
import {
  laneStrides,
  type RosaMode,
  type ScanOutputs,
  type ScanShape,
  sharedMemoryAvailable,
} from './layout.ts';
import { checkScanBuffers, type ScanEngine, type ScanInput } from './scan.ts';
import type { InjectedFault, WorkerApi, WorkerJob, WorkerReply } from './worker-api.ts';

export type { InjectedFault } from './worker-api.ts';

/** A started worker, whatever the platform. */
export interface WorkerHandle {
  readonly endpoint: Endpoint;
  /** Registers the listener for the worker's death or uncaught error (called at most once). */
  onFailure(listener: (error: Error) => void): void;
  terminate(): Promise<void>;
}

export type WorkerSpawner = (id: number) => WorkerHandle;

/** 'shared': SharedArrayBuffer, scans in place. 'transfer': copies through transferables. */
export type PoolMemory = 'shared' | 'transfer';

export interface PoolScanOptions {
  /** Routes per batch element, so errors can name (batch, route) pairs. */
  routes?: number;
  /** Rejects (and stops that worker) when one job, a chunk of lanes, takes longer. */
  timeoutMs?: number;
  /** Lanes per job (default: planJobs, by the call's work). */
  chunkLanes?: number;
  /** Build destInv* / cfInv* too (default true; the GPU builds them itself, the CPU backward scatters). */
  inverseIndices?: boolean;
  /** Which code runs the 'rosa-tuning' walk in the workers (default 'auto': wasm where available). */
  engine?: ScanEngine;
  /** Tests only: the job holding this lane asks its worker for this fault. */
  injectFault?: { lane: number; kind: InjectedFault };
}

export interface PoolScanReport {
  memory: PoolMemory;
  jobs: number;
  /** Lanes that went through the ancestry index (periodic-like input). */
  indexedLanes: number;
  /** Sum over jobs of the time workers spent scanning. */
  workerMs: number;
}

export class RosaWorkerError extends Error {
  constructor(
    message: string,
    readonly laneStart: number,
    readonly laneEnd: number,
    readonly shape: ScanShape,
    readonly mode: RosaMode,
    readonly workerId: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RosaWorkerError';
  }
}

interface Slot {
  id: number;
  handle: WorkerHandle;
  remote: Remote<WorkerApi>;
  /** Set once the worker died; the slot is respawned before the next scan. */
  failure: Error | null;
  /** Rejects the job in flight (when the worker dies under it). */
  abort: ((error: Error) => void) | null;
}

function describeLanes(start: number, end: number, routes: number | undefined): string {
  const span = `lanes ${start}..${end - 1}`;
  if (!routes) return span;
  const at = (lane: number) => `batch ${Math.floor(lane / routes)} route ${lane % routes}`;
  return `${span} (${at(start)} to ${at(end - 1)})`;
}

/**
 * Symbols per job below which a job is not split further: a job costs a message round trip
 * (≈0.1–0.3 ms), so a training-shaped call (128 lanes × 256 symbols, ≈5 ms of scanning) goes
 * out as one job per worker rather than four, and workers do not queue behind round trips.
 */
export const MIN_JOB_SYMBOLS = 1 << 16;

/**
 * Lanes per job: one job per worker for small calls, up to four per worker (balance across
 * lanes of uneven cost) once every job still holds MIN_JOB_SYMBOLS symbols.
 */
export function planChunkLanes(shape: ScanShape, workers: number): number {
  const { lanes, T } = shape;
  if (lanes === 0) return 1;
  const byWork = Math.floor((lanes * T) / MIN_JOB_SYMBOLS);
  const jobs = Math.min(lanes, Math.max(workers, Math.min(workers * 4, byWork)));
  return Math.ceil(lanes / jobs);
}

function isShared(array: { buffer: ArrayBufferLike }): boolean {
  return typeof SharedArrayBuffer === 'function' && array.buffer instanceof SharedArrayBuffer;
}

export class RosaWorkerPool {
  readonly size: number;
  /** How data reaches the workers: what the UI can show next to "cross-origin isolated". */
  readonly memory: PoolMemory;
  private readonly spawn: WorkerSpawner;
  private slots: Slot[] = [];
  private terminated = false;
  private nextId = 0;
  /** Scans run one after another: a slot tracks one job at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Scans called and not yet settled. */
  private inFlight = 0;

  constructor(
    spawn: WorkerSpawner,
    size: number,
    memory: PoolMemory = sharedMemoryAvailable() ? 'shared' : 'transfer',
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be ≥ 1 (got ${size})`);
    if (memory === 'shared' && !sharedMemoryAvailable()) {
      throw new Error('SharedArrayBuffer is not available here (page not cross-origin isolated)');
    }
    this.spawn = spawn;
    this.size = size;
    this.memory = memory;
    for (let i = 0; i < size; i++) this.slots.push(this.makeSlot());
  }

  private makeSlot(): Slot {
    const id = this.nextId++;
    const handle = this.spawn(id);
    const slot: Slot = { id, handle, remote: wrap<WorkerApi>(handle.endpoint), failure: null, abort: null };
    handle.onFailure((error) => {
      if (slot.failure) return;
      slot.failure = error;
      slot.abort?.(error);
      void handle.terminate();
    });
    return slot;
  }

  /** Workers currently alive. */
  get alive(): number {
    return this.terminated ? 0 : this.slots.filter((s) => !s.failure).length;
  }

  /** Round trip to every worker (e.g. to wait until they have loaded). */
  async ready(): Promise<void> {
    this.replaceDead();
    await Promise.all(this.slots.map((s) => s.remote.ping()));
  }

  /**
   * Scans every lane of `input` into `outputs` (dest, run ids, counterfactuals, inverse lists).
   * Uses shared memory when the pool and all arrays allow it, else transferables. Calls made while
   * a scan runs wait for it.
   */
  scan(input: ScanInput, outputs: ScanOutputs, options: PoolScanOptions = {}): Promise<PoolScanReport> {
    // With no scan in flight the jobs go out now, not from a microtask: the CPU backend goes on
    // with synchronous work (the attention) after this call, and a microtask would only run
    // once that is done, leaving the workers idle while the main thread computes.
    const run =
      this.inFlight === 0
        ? this.scanNow(input, outputs, options)
        : this.queue.then(() => this.scanNow(input, outputs, options));
    this.inFlight++;
    const done = run.finally(() => {
      this.inFlight--;
    });
    this.queue = done.catch(() => undefined);
    return run;
  }

  private async scanNow(
    input: ScanInput,
    outputs: ScanOutputs,
    options: PoolScanOptions,
  ): Promise<PoolScanReport> {
    if (this.terminated) throw new Error('the ROSA worker pool was terminated; call restart() first');
    checkScanBuffers(input, outputs);
    this.replaceDead();
    const arrays = [input.qSym, input.kSym, ...Object.values(outputs)];
    const memory: PoolMemory = this.memory === 'shared' && arrays.every(isShared) ? 'shared' : 'transfer';
    const { lanes } = input.shape;
    const chunk = options.chunkLanes ?? planChunkLanes(input.shape, this.size);
    const report: PoolScanReport = { memory, jobs: 0, indexedLanes: 0, workerMs: 0 };
    let next = 0;
    let firstError: Error | null = null;
    const drive = async (slot: Slot) => {
      while (next < lanes && firstError === null && slot.failure === null) {
        const start = next;
        const end = Math.min(lanes, start + chunk);
        next = end;
        try {
          const reply = await this.runJob(slot, input, outputs, start, end, memory, options);
          report.jobs++;
          report.indexedLanes += reply.indexedLanes;
          report.workerMs += reply.ms;
        } catch (error) {
          firstError ??= error as Error;
        }
      }
    };
    await Promise.all(this.slots.map(drive));
    if (firstError) throw firstError;
    if (next < lanes) throw new Error('every ROSA worker died before the scan finished');
    return report;
  }

  private runJob(
    slot: Slot,
    input: ScanInput,
    outputs: ScanOutputs,
    start: number,
    end: number,
    memory: PoolMemory,
    options: PoolScanOptions,
  ): Promise<WorkerReply> {
    const { shape, mode } = input;
    const fault =
      options.injectFault && options.injectFault.lane >= start && options.injectFault.lane < end
        ? options.injectFault.kind
        : undefined;
    const fail = (what: string, cause: unknown) => {
      const reason = cause instanceof Error ? cause.message : String(cause);
      return new RosaWorkerError(
        `ROSA worker ${slot.id} ${what} on ${describeLanes(start, end, options.routes)} of a scan ` +
          `in mode '${mode}' (lanes=${shape.lanes} T=${shape.T} bits=${shape.bits}): ${reason}`,
        start,
        end,
        shape,
        mode,
        slot.id,
        { cause },
      );
    };
    let job: WorkerJob;
    let transferList: ArrayBuffer[] = [];
    if (memory === 'shared') {
      job = {
        mode,
        shape,
        laneStart: start,
        laneEnd: end,
        qSym: input.qSym,
        kSym: input.kSym,
        outputs,
        inverseIndices: options.inverseIndices,
        engine: options.engine,
        fault,
      };
    } else {
      const per = laneStrides(shape).sym;
      const qSym = input.qSym.slice(start * per, end * per);
      const kSym = input.kSym.slice(start * per, end * per);
      const chunkShape = { lanes: end - start, T: shape.T, bits: shape.bits };
      job = {
        mode,
        shape: chunkShape,
        laneStart: 0,
        laneEnd: end - start,
        qSym,
        kSym,
        outputs: null,
        inverseIndices: options.inverseIndices,
        engine: options.engine,
        fault,
      };
      transferList = [qSym.buffer, kSym.buffer];
    }
    return new Promise<WorkerReply>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = () => {
        slot.abort = null;
        if (timer !== undefined) clearTimeout(timer);
      };
      slot.abort = (error) => {
        settle();
        reject(fail('died', error));
      };
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          settle();
          const error = new Error(`no reply within ${options.timeoutMs} ms; the worker was stopped`);
          slot.failure = error;
          void slot.handle.terminate();
          reject(fail('timed out', error));
        }, options.timeoutMs);
      }
      // Symbols of a copied chunk are moved to the worker (transferables), not cloned.
      const call = slot.remote.scan(transferList.length > 0 ? transfer(job, transferList) : job);
      call.then(
        (reply) => {
          if (slot.abort === null) return; // already failed
          settle();
          try {
            if (memory === 'transfer') copyChunkBack(reply, outputs, shape, start);
            resolve(reply);
          } catch (error) {
            reject(fail('returned unusable outputs', error));
          }
        },
        (error) => {
          if (slot.abort === null) return;
          settle();
          reject(fail('threw', error));
        },
      );
    });
  }

  private replaceDead(): void {
    this.slots = this.slots.map((slot) => (slot.failure ? this.makeSlot() : slot));
  }

  /** Stops every worker; scan() then throws until restart(). */
  async terminate(): Promise<void> {
    this.terminated = true;
    const slots = this.slots;
    this.slots = [];
    for (const slot of slots) {
      slot.failure ??= new Error('the pool was terminated');
      slot.abort?.(slot.failure);
    }
    await Promise.all(slots.map((s) => s.handle.terminate()));
  }

  /** Stops every worker and starts fresh ones. */
  async restart(): Promise<void> {
    await this.terminate();
    this.terminated = false;
    for (let i = 0; i < this.size; i++) this.slots.push(this.makeSlot());
    await this.ready();
  }
}

/** Copies a chunk's transferred outputs into the caller's arrays at the chunk's lanes. */
function copyChunkBack(reply: WorkerReply, outputs: ScanOutputs, shape: ScanShape, laneStart: number): void {
  const got = reply.outputs;
  if (!got) throw new Error('the worker sent no outputs');
  const per = laneStrides(shape);
  for (const key of Object.keys(got) as (keyof ScanOutputs)[]) {
    outputs[key].set(got[key], laneStart * per[key]);
  }
}
