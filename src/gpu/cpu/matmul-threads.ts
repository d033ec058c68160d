// Matmuls over worker threads. The direct route of matmul.ts already copies its operands into a
// wasm memory; here that memory is a shared one, instantiated by the calling thread and by N − 1
// workers, so the workers need no access to the tensors (plain Float32Arrays, which stay where
// they are) and nothing is registered per tensor. The caller copies the operands in, cuts the
// kernel call into chunks of output rows (of 8-column panels when rows are few), publishes the
// call in a control block of Int32s and wakes the workers; then every thread, the caller too,
// claims chunks from a shared counter until none is left, and the caller waits (Atomics.wait)
// for the chunks others hold before it copies C out. Claiming rather than a fixed share per
// thread: on a busy machine a worker the OS does not run soon leaves its chunks to the others,
// instead of holding the caller up. Each element of C is computed by the same kernel over the
// same K blocks as with one thread, so the results are the same to the bit.

import type { AttentionArgs } from './attention-heads.ts';
import { attentionBlockModule, attentionKernelsOn } from './attention-simd.ts';
import {
  ATTENTION_ARG_NAMES,
  ATTENTION_CONTROL,
  ATTENTION_SOURCE,
  attentionUnit,
  HEADS,
} from './attention-threads-source.ts';
import { createSimdGemm, type SimdGemm } from './gemm-simd.ts';
import {
  type DirectCall,
  type DirectTarget,
  type FastMatmulShape,
  matmulDirectOn,
  matmulFast,
  runDirectBlocks,
} from './matmul.ts';
import {
  ARGS,
  ATTENTION_ARGS,
  ATTENTION_SCALE,
  BY_ROWS,
  BY_WORKERS,
  CHUNKS,
  COMPLETED,
  CONTROL_INTS,
  DIRECT_CALL_FIELDS,
  FAILED,
  KIND,
  NEXT,
  SEQ,
  STATUS,
  STOP,
  TAG,
  UNITS,
  WORKER_SOURCE,
} from './matmul-threads-control.ts';
import { type KernelWorker, spawnKernelWorker, threadsUnavailable } from './worker-threads.ts';

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB of address space reserved, committed as it grows

/**
 * Multiply-adds below which a chunk is not worth handing out: publishing a call, waking a worker
 * and waiting for its chunk cost 2–20 µs here (bench/matmul-threads.ts), about this many's time.
 */
export const MIN_CHUNK_MACS = 1 << 18;
/** Chunks per thread at most: a few, so that threads that start late still share the work. */
const CHUNKS_PER_THREAD = 4;

/** How a call is cut into at most `parts` chunks: by rows in blocks of 4, else by panels. */
function splitPlan(call: DirectCall, parts: number): { byRows: boolean; units: number; chunks: number } {
  const rowBlocks = Math.ceil(call.M / 4);
  const byRows = rowBlocks >= parts || rowBlocks >= call.N8;
  const units = byRows ? rowBlocks : call.N8;
  return { byRows, units, chunks: Math.max(1, Math.min(parts, units)) };
}

/**
 * Chunk i of `chunks` of a call cut into `units` row blocks of 4 (byRows) or 8-column panels:
 * its own call, on a disjoint block of C. Self-contained: the workers run its source text.
 */
export function directChunk(
  call: DirectCall,
  i: number,
  chunks: number,
  byRows: boolean,
  units: number,
): DirectCall {
  const u0 = Math.floor((i * units) / chunks);
  const u1 = Math.floor(((i + 1) * units) / chunks);
  if (byRows) {
    const r0 = 4 * u0;
    return {
      ...call,
      a: call.a + r0 * call.ars,
      c: call.c + r0 * call.ldc,
      M: Math.min(call.M, 4 * u1) - r0,
    };
  }
  return { ...call, b: call.b + 32 * u0, c: call.c + 32 * u0, N8: u1 - u0 };
}

/** Splits a kernel call into at most `parts` calls on disjoint blocks of C (as the workers do). */
export function splitDirectCall(call: DirectCall, parts: number): DirectCall[] {
  const { byRows, units, chunks } = splitPlan(call, parts);
  return Array.from({ length: chunks }, (_, i) => directChunk(call, i, chunks, byRows, units));
}

// The workers' matmul code: the functions the calling thread runs, as source text.
const MATMUL_SOURCE = `
const runDirectBlocks = (${runDirectBlocks.toString()});
const directChunk = (${directChunk.toString()});
const directCallFields = ${JSON.stringify(DIRECT_CALL_FIELDS)};
`;

export interface MatmulThreadsOptions {
  /** Multiply-adds a chunk must have (default MIN_CHUNK_MACS; tests split small calls with 1). */
  minChunkMacs?: number;
  /** How long the caller waits for a chunk, on top of 10 ns per multiply-add, before it gives up. */
  timeoutMs?: number;
  /** The 10 ns above (tests set 0). */
  nsPerMac?: number;
  /** Tests: workers hang once they hold a chunk, until disposed. */
  stallWorkers?: boolean;
}

export class MatmulThreads implements DirectTarget {
  readonly threads: number;
  private readonly minChunkMacs: number;
  private readonly timeoutMs: number;
  private readonly nsPerMac: number;
  private readonly gemm: SimdGemm;
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_INTS));
  private readonly workers: KernelWorker[] = [];
  private readonly runAttentionUnit: (unit: number) => void;
  private view = new Float32Array(0);
  private seq = 0;
  private broken: Error | null = null;

  constructor(threads: number, options: MatmulThreadsOptions = {}) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`CPU threads: ${threads} is not a count`);
    this.minChunkMacs = options.minChunkMacs ?? MIN_CHUNK_MACS;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.nsPerMac = options.nsPerMac ?? 10;
    const why = threadsUnavailable();
    if (why) throw new Error(`CPU threads: ${why}`);
    const gemm = createSimdGemm(1, { sharedMaxPages: MAX_PAGES });
    if (!gemm) throw new Error('CPU threads: WebAssembly SIMD is not available here');
    const blocks = attentionBlockModule(MAX_PAGES);
    if (!blocks) throw new Error('CPU threads: WebAssembly SIMD is not available here');
    this.gemm = gemm;
    this.threads = threads;
    // The calling thread runs attention units on scratch slot 0, worker i on slot i, with the
    // same functions (the workers have their source text).
    const exports = new WebAssembly.Instance(blocks, { env: { memory: gemm.memory } }).exports;
    const kernels = attentionKernelsOn(gemm.direct, exports, gemm.memory);
    this.runAttentionUnit = (unit) => attentionUnit(kernels, this.control, unit, 0, ATTENTION_CONTROL, HEADS);
    for (let i = 0; i < threads - 1; i++) {
      const init = {
        module: gemm.module,
        attention: blocks,
        memory: gemm.memory,
        control: this.control.buffer,
        slot: i + 1,
        stall: options.stallWorkers ?? false,
      };
      this.workers.push(
        spawnKernelWorker(WORKER_SOURCE + MATMUL_SOURCE + ATTENTION_SOURCE, init, `cpu-matmul-${i + 1}`),
      );
    }
  }

  /** Whether a worker failed (or dispose ran): every later call throws. */
  get failed(): boolean {
    return this.broken !== null;
  }

  /** Chunks the workers (not the caller) have run so far: how much of the work they took. */
  get workerChunks(): number {
    return Atomics.load(this.control, BY_WORKERS);
  }

  /** Resolves once every worker has started (or rejects with the first that could not). */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.ready));
  }

  /** matmulFast, with the kernel's work spread over the threads when it is large enough. */
  matmul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    shape: FastMatmulShape,
    accumulate = false,
  ): void {
    if (this.chunksFor(shape.M * shape.N * shape.K) < 2) matmulFast(a, b, c, shape, accumulate);
    else matmulDirectOn(this, a, b, c, shape, accumulate);
  }

  scratch(n: number): Float32Array {
    const memory = this.gemm.memory;
    const have = memory.buffer.byteLength;
    if (have < 4 * n) memory.grow(Math.ceil((4 * n - have) / PAGE));
    if (this.view.length < n || this.view.buffer !== memory.buffer)
      this.view = new Float32Array(memory.buffer);
    return this.view;
  }

  /** Runs a kernel call (bytes of this memory) in at most `chunks` chunks (default: as pays). */
  run(call: DirectCall, chunks = this.chunksFor(call.M * call.N8 * 8 * call.K)): void {
    this.check();
    const calls = splitDirectCall(call, chunks);
    if (calls.length === 1 || this.workers.length === 0) {
      for (const part of calls) runDirectBlocks(this.gemm.direct, part);
      return;
    }
    const { byRows, units } = splitPlan(call, chunks);
    const ctrl = this.control;
    ctrl.set(
      DIRECT_CALL_FIELDS.map((f) => Number(call[f])),
      ARGS,
    );
    ctrl[KIND] = 0;
    ctrl[BY_ROWS] = byRows ? 1 : 0;
    ctrl[UNITS] = units;
    this.dispatch(calls.length, call.M * call.N8 * 8 * call.K, (i) =>
      runDirectBlocks(this.gemm.direct, calls[i]),
    );
  }

  /**
   * Attention's (batch, head) units 0 … units − 1 of a job (ATTENTION_FORWARD or _BACKWARD) on
   * this memory, laid out as args says (attention-threads.ts), spread over the threads.
   */
  runAttention(kind: number, args: AttentionArgs, scale: number, units: number, macs: number): void {
    this.check();
    const ctrl = this.control;
    ctrl.set(
      ATTENTION_ARG_NAMES.map((n) => args[n]),
      ATTENTION_ARGS,
    );
    new Float64Array(ctrl.buffer, 4 * ATTENTION_SCALE, 1)[0] = scale;
    ctrl[KIND] = kind;
    this.dispatch(units, macs, this.runAttentionUnit);
  }

  /** Publishes a job of `chunks` chunks (its arguments set), runs chunks here too, awaits the rest. */
  private dispatch(chunks: number, macs: number, runChunk: (i: number) => void): void {
    const ctrl = this.control;
    const seq = ++this.seq;
    ctrl[CHUNKS] = chunks;
    ctrl[COMPLETED] = 0;
    Atomics.store(ctrl, NEXT, (seq & TAG) << 16);
    Atomics.store(ctrl, SEQ, seq);
    Atomics.notify(ctrl, SEQ, Math.min(this.workers.length, chunks - 1));
    // Generous: a chunk takes well under 1 ns per multiply-add; past this a worker is gone.
    const deadline = performance.now() + this.timeoutMs + (this.nsPerMac * macs) / 1e6;
    let thrown: unknown = null;
    for (;;) {
      const v = Atomics.load(ctrl, NEXT);
      const i = v & 0xffff;
      if (i >= chunks) break;
      if (Atomics.compareExchange(ctrl, NEXT, v, v + 1) !== v) continue;
      try {
        runChunk(i);
      } catch (err) {
        thrown ??= err;
      }
      Atomics.add(ctrl, COMPLETED, 1);
    }
    // Even when a chunk here threw: the workers' chunks must be done before the memory is reused.
    this.awaitChunks(chunks, deadline);
    if (thrown) throw thrown;
    if (Atomics.load(ctrl, STATUS) !== 0) this.fail('a CPU matmul worker: the kernel threw (out of bounds?)');
  }

  /** Stops the workers (never disposed, they still let a Node process end: they are unref'd). */
  dispose(): void {
    this.broken ??= new Error('CPU threads: used after dispose');
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, SEQ, 1);
    Atomics.notify(this.control, SEQ);
    for (const w of this.workers) w.terminate();
  }

  private chunksFor(macs: number): number {
    return Math.min(CHUNKS_PER_THREAD * this.threads, Math.floor(macs / this.minChunkMacs));
  }

  private check(): void {
    if (this.broken) throw this.broken;
    const failure = this.workers.map((w) => w.failure()).find((f) => f !== null);
    if (failure) this.fail(`a CPU matmul worker failed: ${failure.message}`);
    if (Atomics.load(this.control, FAILED) > 0) this.fail('a CPU matmul worker could not start');
  }

  private awaitChunks(chunks: number, deadline: number): void {
    for (;;) {
      const done = Atomics.load(this.control, COMPLETED);
      if (done === chunks) return;
      const left = deadline - performance.now();
      if (left <= 0)
        this.fail(`a CPU matmul worker did not finish its chunk of a matmul in time (crashed or hung)`);
      Atomics.wait(this.control, COMPLETED, done, Math.min(left, 1000));
    }
  }

  private fail(message: string): never {
    this.broken = new Error(message);
    this.dispose();
    throw this.broken;
  }
}

// One set of threads per thread count, shared by the backends that ask for it: the calls of one
// JS thread never overlap, and a backend that is never disposed leaks no more than one set.
const shared = new Map<number, { threads: MatmulThreads; users: number }>();

export interface MatmulThreadsLease {
  readonly threads: MatmulThreads;
  release(): void;
}

export function acquireMatmulThreads(threads: number): MatmulThreadsLease {
  let entry = shared.get(threads);
  if (!entry || entry.threads.failed) {
    entry = { threads: new MatmulThreads(threads), users: 0 };
    shared.set(threads, entry);
  }
  entry.users++;
  const e = entry;
  let released = false;
  return {
    threads: e.threads,
    release() {
      if (released) return;
      released = true;
      if (--e.users > 0) return;
      e.threads.dispose();
      if (shared.get(threads) === e) shared.delete(threads);
    },
  };
}
