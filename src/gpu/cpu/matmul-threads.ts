// Matmuls over worker threads. The direct route of matmul.ts already copies its operands into a
// wasm memory; here that memory is a shared one, instantiated by the calling thread and by N − 1
// workers, so the workers need no access to the tensors (plain Float32Arrays, which stay where
// they are) and nothing is registered per tensor. The caller copies the operands in, splits the
// kernel call by output rows (by 8-column panels when there are too few rows), posts the other
// parts through a control block of Int32s, runs its own part, waits on Atomics.wait and copies C
// out. Each element of C is computed by the same kernel over the same K blocks as with one
// thread, so the results are the same to the bit.

import { createSimdGemm, type SimdGemm } from './gemm-simd.ts';
import {
  type DirectCall,
  type DirectTarget,
  type FastMatmulShape,
  matmulDirectOn,
  matmulFast,
  runDirectBlocks,
} from './matmul.ts';
import { type KernelWorker, spawnKernelWorker, threadsUnavailable } from './worker-threads.ts';

// Control block: one slot of Int32s per worker.
const SLOT = 16;
const SEQ = 0; // job number, bumped by the caller to post a job
const DONE = 1; // the job number the worker finished last; −1: it could not start
const STATUS = 2; // 0: the job ran; 1: it threw
const STOP = 3; // 1: leave the loop
const ARGS = 4; // a, ars, aks, b, ldb, c, ldc, M, N8, K, kc, accumulate
const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB of address space reserved, committed as it grows

/**
 * Multiply-adds below which a part is not worth a thread: the wake-up and wait cost some tens
 * of µs (bench/matmul-threads.ts measures it), about the time of this many at ~10 GFLOP/s.
 */
export const MIN_PART_MACS = 1 << 18;

// The worker: the same K-block loop as runDirectBlocks (matmul.ts), over the same kernel.
const WORKER_SOURCE = `
function start(init) {
  const ctrl = new Int32Array(init.control);
  const o = init.slot * ${SLOT};
  let direct;
  try {
    direct = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports.direct;
  } catch (e) {
    Atomics.store(ctrl, o + ${DONE}, -1);
    Atomics.notify(ctrl, o + ${DONE});
    throw e;
  }
  post('ready');
  let seq = 0;
  for (;;) {
    Atomics.wait(ctrl, o + ${SEQ}, seq);
    seq = Atomics.load(ctrl, o + ${SEQ});
    if (Atomics.load(ctrl, o + ${STOP}) === 1) return;
    let status = 0;
    try {
      const p = o + ${ARGS};
      const a = ctrl[p], ars = ctrl[p + 1], aks = ctrl[p + 2], b = ctrl[p + 3], ldb = ctrl[p + 4];
      const c = ctrl[p + 5], ldc = ctrl[p + 6], M = ctrl[p + 7], N8 = ctrl[p + 8], K = ctrl[p + 9];
      const kc = ctrl[p + 10], accumulate = ctrl[p + 11] === 1;
      for (let k0 = 0; k0 < K; k0 += kc) {
        const add = accumulate || k0 > 0 ? 1 : 0;
        direct(a + k0 * aks, ars, aks, b + k0 * ldb, ldb, c, ldc, M, N8, Math.min(kc, K - k0), add);
      }
    } catch (e) {
      status = 1;
    }
    Atomics.store(ctrl, o + ${STATUS}, status);
    Atomics.store(ctrl, o + ${DONE}, seq);
    Atomics.notify(ctrl, o + ${DONE});
  }
}
`;

/** Splits a kernel call into at most `parts` calls on disjoint blocks of C: rows by 4, else panels. */
export function splitDirectCall(call: DirectCall, parts: number): DirectCall[] {
  const rowBlocks = Math.ceil(call.M / 4);
  const byRows = rowBlocks >= parts || rowBlocks >= call.N8;
  const units = byRows ? rowBlocks : call.N8;
  const n = Math.max(1, Math.min(parts, units));
  const out: DirectCall[] = [];
  for (let i = 0; i < n; i++) {
    const u0 = Math.floor((i * units) / n);
    const u1 = Math.floor(((i + 1) * units) / n);
    if (byRows) {
      const r0 = 4 * u0;
      const r1 = Math.min(call.M, 4 * u1);
      out.push({ ...call, a: call.a + r0 * call.ars, c: call.c + r0 * call.ldc, M: r1 - r0 });
    } else {
      out.push({ ...call, b: call.b + 32 * u0, c: call.c + 32 * u0, N8: u1 - u0 });
    }
  }
  return out;
}

export interface MatmulThreadsOptions {
  /** Multiply-adds a part must have (default MIN_PART_MACS; tests split small calls with 1). */
  minPartMacs?: number;
  /** How long a worker may take on top of 10 ns per multiply-add before it counts as gone. */
  timeoutMs?: number;
}

export class MatmulThreads implements DirectTarget {
  readonly threads: number;
  private readonly minPartMacs: number;
  private readonly timeoutMs: number;
  private readonly gemm: SimdGemm;
  private readonly control: Int32Array;
  private readonly workers: KernelWorker[] = [];
  private view = new Float32Array(0);
  private seq = 0;
  private broken: Error | null = null;

  constructor(threads: number, options: MatmulThreadsOptions = {}) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`CPU threads: ${threads} is not a count`);
    this.minPartMacs = options.minPartMacs ?? MIN_PART_MACS;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const why = threadsUnavailable();
    if (why) throw new Error(`CPU threads: ${why}`);
    const gemm = createSimdGemm(1, { sharedMaxPages: MAX_PAGES });
    if (!gemm) throw new Error('CPU threads: WebAssembly SIMD is not available here');
    this.gemm = gemm;
    this.threads = threads;
    this.control = new Int32Array(new SharedArrayBuffer(4 * SLOT * Math.max(1, threads - 1)));
    for (let i = 0; i < threads - 1; i++) {
      const init = { module: gemm.module, memory: gemm.memory, control: this.control.buffer, slot: i };
      this.workers.push(spawnKernelWorker(WORKER_SOURCE, init, `cpu-matmul-${i + 1}`));
    }
  }

  /** Whether a worker failed (or dispose ran): every later call throws. */
  get failed(): boolean {
    return this.broken !== null;
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
    if (this.partsFor(shape.M * shape.N * shape.K) < 2) matmulFast(a, b, c, shape, accumulate);
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

  /** Runs a kernel call (bytes of this memory) in `parts` parts (default: as its size pays). */
  run(call: DirectCall, parts = this.partsFor(call.M * call.N8 * 8 * call.K)): void {
    if (this.broken) throw this.broken;
    const calls = splitDirectCall(call, Math.min(parts, this.threads));
    const seq = ++this.seq;
    for (let i = 1; i < calls.length; i++) this.post(i - 1, calls[i], seq);
    // Generous: a part takes well under 1 ns per multiply-add; past this a worker is gone.
    const deadline = performance.now() + this.timeoutMs + (call.M * call.N8 * 8 * call.K) / 1e5;
    try {
      runDirectBlocks(this.gemm.direct, calls[0]);
    } finally {
      // Even when the caller's part threw: the workers must be done before the memory is reused.
      for (let i = 1; i < calls.length; i++) this.join(i - 1, seq, deadline);
    }
  }

  /** Stops the workers (never disposed, they still let a Node process end: they are unref'd). */
  dispose(): void {
    this.broken ??= new Error('CPU threads: used after dispose');
    this.leaveLoops();
    for (const w of this.workers) w.terminate();
  }

  private leaveLoops(): void {
    for (let i = 0; i < this.workers.length; i++) {
      Atomics.store(this.control, i * SLOT + STOP, 1);
      Atomics.add(this.control, i * SLOT + SEQ, 1);
      Atomics.notify(this.control, i * SLOT + SEQ);
    }
  }

  private partsFor(macs: number): number {
    return Math.min(this.threads, Math.floor(macs / this.minPartMacs));
  }

  private post(worker: number, call: DirectCall, seq: number): void {
    const p = worker * SLOT;
    const args = [call.a, call.ars, call.aks, call.b, call.ldb, call.c, call.ldc, call.M, call.N8, call.K];
    this.control.set(args, p + ARGS);
    this.control[p + ARGS + 10] = call.kc;
    this.control[p + ARGS + 11] = call.accumulate ? 1 : 0;
    Atomics.store(this.control, p + SEQ, seq);
    Atomics.notify(this.control, p + SEQ);
  }

  private join(worker: number, seq: number, deadline: number): void {
    const p = worker * SLOT;
    const name = `CPU matmul worker ${worker + 1}`;
    for (;;) {
      const done = Atomics.load(this.control, p + DONE);
      if (done === seq) break;
      const failure = this.workers[worker].failure();
      if (done === -1 || failure)
        this.fail(`${name} failed${failure ? `: ${failure.message}` : ' to start'}`);
      const left = deadline - performance.now();
      if (left <= 0) this.fail(`${name} did not finish its part of a matmul in time (crashed or hung)`);
      Atomics.wait(this.control, p + DONE, done, Math.min(left, 1000));
    }
    if (this.control[p + STATUS] !== 0) this.fail(`${name}: the kernel threw (out of bounds?)`);
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
