// The CPU backend: matmul, attention, RMSNorm, RoPE, SwiGLU, cross-entropy and ROSA (sign-pack,
// injection and its backward) run the fast kernels of src/gpu/cpu; the rest (embedding, LRSA,
// AdamW, bias, repeat-kv) their CPU twins from src/gpu/reference, which also stay the references
// the kernel tests compare against.
// Handles are plain typed arrays, so "recording" an op runs it at once. With `threads` > 1 the
// matmuls of linear layers and attention's heads are spread over worker threads
// (cpu/matmul-threads.ts, cpu/attention-threads.ts), same bits.

import type { RosaMode } from '../../rosa-worker/layout.ts';
import { attentionBackwardFast, attentionForwardFast } from '../cpu/attention.ts';
import {
  attentionBackwardThreaded,
  attentionForwardThreaded,
  attentionThreaded,
} from '../cpu/attention-threads.ts';
import {
  type CrossEntropyStats,
  crossEntropyFast,
  rmsnormBackwardFast,
  rmsnormForwardFast,
  ropeFast,
  swigluBackwardFast,
  swigluForwardFast,
} from '../cpu/elementwise.ts';
import { type FastMatmulShape, matmulFast } from '../cpu/matmul.ts';
import { acquireMatmulThreads, type MatmulThreadsLease } from '../cpu/matmul-threads.ts';
import { rosaInjectionBackwardFast, rosaInjectionForwardFast, rosaSignPackFast } from '../cpu/rosa.ts';
import { threadsUnavailable } from '../cpu/worker-threads.ts';
import { adamwStepReference, type CpuParamGroup } from '../reference/adamw.ts';
import type { AttentionShape } from '../reference/attention.ts';
import { biasBackward, biasForward } from '../reference/bias.ts';
import { addReference, axpyReference } from '../reference/elementwise.ts';
import { embeddingBackward, embeddingForward } from '../reference/embedding.ts';
import {
  type LrsaShape,
  lagkvSelectReference,
  lrsaAttentionBackwardReference,
  lrsaAttentionForwardReference,
  lrsaChunkCounts,
} from '../reference/lrsa.ts';
import { type HeadGroupShape, repeatKvBackward, repeatKvForward } from '../reference/repeat-kv.ts';
import { type RosaDims, scanShapeOf } from '../reference/rosa.ts';
import {
  type AdamGroup,
  type AdamHyper,
  type Backend,
  combinedLoss,
  type LinearShape,
  type LossPart,
  type LossShape,
  type LossStats,
  type RosaBackwardOptions,
  type RosaScanner,
  type RowShape,
  type ScanResult,
  type ScanTiming,
  type VocabShape,
} from './backend.ts';

type F = Float32Array;
type I = Int32Array;

function ropeShape(shape: AttentionShape, base: number) {
  return { B: shape.B, T: shape.T, H: shape.H, D: shape.D, base };
}

/**
 * The selected-key indices the LRSA twins expect: the model allocates at least one element
 * (GPU buffers cannot be empty) even when no chunk is old enough to be scored.
 */
function selectedOf<T extends { subarray(a: number, b: number): T }>(selected: T, shape: LrsaShape): T {
  return selected.subarray(0, shape.batch * shape.heads * lrsaChunkCounts(shape).scoredChunks * shape.keep);
}

export interface CpuBackendOptions {
  /** Threads for the matmuls, the calling one included (default 1). */
  threads?: number;
}

/** The threads a CPU backend was asked for, those it uses, and why fewer when so. */
export interface CpuThreading {
  requested: number;
  used: number;
  note: string | null;
}

/** matmulFast, on the lease's threads when there is one (a function: profilers wrap methods). */
function matmulOn(
  lease: MatmulThreadsLease | null,
  a: F,
  b: F,
  c: F,
  shape: FastMatmulShape,
  accumulate: boolean,
) {
  if (lease) lease.threads.matmul(a, b, c, shape, accumulate);
  else matmulFast(a, b, c, shape, accumulate);
}

export class CpuBackend implements Backend<F, I> {
  readonly kind = 'cpu' as const;
  readonly threading: CpuThreading;
  private lease: MatmulThreadsLease | null = null;
  private bytes = 0;
  /** The last batch's loss, one entry per micro-batch. */
  private lossParts: Array<CrossEntropyStats | undefined> = [];
  private gradNorm = 0;

  constructor(options: CpuBackendOptions = {}) {
    const requested = options.threads ?? 1;
    let unavailable = requested > 1 ? threadsUnavailable() : null;
    if (requested > 1 && !unavailable) {
      try {
        this.lease = acquireMatmulThreads(requested);
      } catch (err) {
        // No wasm SIMD, workers refused: the backend still works, on one thread.
        unavailable = (err as Error).message;
      }
    }
    const used = this.lease ? requested : 1;
    this.threading = { requested, used, note: unavailable && `one thread: ${unavailable}` };
  }

  /** Resolves once the worker threads have started (a browser worker starts them asynchronously). */
  async ready(): Promise<void> {
    await this.lease?.threads.ready();
  }

  /** Lets go of the worker threads (idle ones never keep a Node process alive either). */
  dispose(): void {
    this.lease?.release();
    this.lease = null;
  }

  alloc(n: number): F {
    this.bytes += n * 4;
    return new Float32Array(n);
  }
  upload(data: Float32Array): F {
    this.bytes += data.length * 4;
    return Float32Array.from(data);
  }
  allocInt(n: number): I {
    this.bytes += n * 4;
    return new Int32Array(n);
  }
  writeInts(target: I, data: Int32Array): void {
    target.set(data);
  }
  write(target: F, data: Float32Array): void {
    target.set(data);
  }
  async read(sources: readonly F[]): Promise<Float32Array[]> {
    return sources.map((s) => Float32Array.from(s));
  }
  async readRange(source: F, start: number, length: number): Promise<Float32Array> {
    if (start < 0 || start + length > source.length)
      throw new Error(`readRange: [${start}, ${start + length}) is outside ${source.length} elements`);
    return source.slice(start, start + length);
  }
  free(...handles: Array<F | I>): void {
    for (const h of handles) this.bytes -= h.length * 4;
  }
  zero(target: F): void {
    target.fill(0);
  }
  allocatedBytes(): number {
    return this.bytes;
  }
  async finish(): Promise<void> {}
  flush(): void {}
  async idle(): Promise<number> {
    return performance.now();
  }

  embedding(inputs: { tokens: I; table: F }, outputs: { out: F }, shape: VocabShape): void {
    outputs.out.set(embeddingForward(inputs.tokens, inputs.table, shape.N, shape.C, shape.V));
  }
  rmsnorm(
    inputs: { x: F; w: F },
    outputs: { y: F; rstd: F },
    shape: RowShape,
    options: { eps: number },
  ): void {
    rmsnormForwardFast(inputs.x, inputs.w, outputs.y, outputs.rstd, shape.N, shape.C, options.eps);
  }
  linear(
    inputs: { x: F; w: F },
    outputs: { y: F },
    shape: LinearShape,
    options: { accumulate?: boolean; residual?: F } = {},
  ): void {
    const dims = { M: shape.rows, N: shape.outDim, K: shape.inDim, transB: true };
    const { residual, accumulate = false } = options;
    if (residual && !accumulate && outputs.y.buffer !== inputs.x.buffer) {
      // y = residual + x·Wᵀ as one accumulating matmul: a copy instead of a pass of axpy (not
      // where y may overlap x, which the copy would overwrite before the matmul reads it).
      if (residual !== outputs.y) outputs.y.set(residual.subarray(0, shape.rows * shape.outDim));
      matmulOn(this.lease, inputs.x, inputs.w, outputs.y, dims, true);
      return;
    }
    matmulOn(this.lease, inputs.x, inputs.w, outputs.y, dims, accumulate);
    if (residual) this.axpy(residual, outputs.y);
  }
  linearShared(inputs: { x: F; ws: readonly F[] }, outputs: { ys: readonly F[] }, shape: LinearShape): void {
    for (const [i, w] of inputs.ws.entries()) this.linear({ x: inputs.x, w }, { y: outputs.ys[i] }, shape);
  }
  rope(inputs: { x: F }, outputs: { out: F }, shape: AttentionShape, options: { base: number }): void {
    ropeFast(inputs.x, outputs.out, ropeShape(shape, options.base), 1);
  }
  ropeMany(
    inputs: { xs: readonly F[] },
    outputs: { outs: readonly F[] },
    shape: AttentionShape,
    options: { base: number },
  ): void {
    for (const [i, x] of inputs.xs.entries()) this.rope({ x }, { out: outputs.outs[i] }, shape, options);
  }
  attention(inputs: { q: F; k: F; v: F }, outputs: { out: F; lse: F }, shape: AttentionShape): void {
    const pool = this.lease?.threads ?? null;
    if (attentionThreaded(pool, shape))
      attentionForwardThreaded(pool, inputs.q, inputs.k, inputs.v, outputs.out, outputs.lse, shape);
    else attentionForwardFast(inputs.q, inputs.k, inputs.v, outputs.out, outputs.lse, shape);
  }
  lrsaSelect(
    inputs: { k: F; v: F },
    outputs: { selected: I },
    shape: LrsaShape,
    options: { scoreVRatio: number },
  ): void {
    outputs.selected.set(lagkvSelectReference(inputs.k, inputs.v, shape, options).selected);
  }
  lrsaAttention(
    inputs: { q: F; k: F; v: F; selected: I },
    outputs: { out: F; lse: F },
    shape: LrsaShape,
  ): void {
    const selected = selectedOf(inputs.selected, shape);
    const r = lrsaAttentionForwardReference(inputs.q, inputs.k, inputs.v, selected, shape);
    outputs.out.set(r.out);
    outputs.lse.set(r.lse);
  }
  swiglu(inputs: { a: F; b: F }, outputs: { out: F }): void {
    swigluForwardFast(inputs.a, inputs.b, outputs.out);
  }
  add(a: F, b: F, out: F): void {
    out.set(addReference(a, b));
  }
  axpy(x: F, y: F, alpha = 1): void {
    axpyReference(y, x, alpha);
  }
  crossEntropy(
    inputs: { logits: F; labels: I },
    outputs: { dlogits: F | null },
    shape: LossShape,
    options: LossPart = {},
  ): void {
    const { gradScale = 1, part = 0, parts = 1 } = options;
    const stats = crossEntropyFast(
      inputs.logits,
      inputs.labels,
      outputs.dlogits,
      shape.N,
      shape.V,
      gradScale,
    );
    if (part === 0) this.lossParts = Array.from({ length: parts }, () => undefined);
    this.lossParts[part] = stats;
  }
  async readLoss(): Promise<LossStats> {
    const parts = this.lossParts;
    if (parts.length === 0) return { meanLoss: 0, count: 0, correctCount: 0, accuracy: 0 };
    const recorded = parts.filter((p) => p !== undefined);
    if (recorded.length < parts.length) throw new Error("readLoss: a micro-batch's loss was not recorded");
    return combinedLoss(recorded);
  }

  async rosaScan(
    inputs: { q: F; k: F },
    dims: RosaDims,
    options: { mode: RosaMode; scanner: RosaScanner; reuse?: ScanResult<I> },
  ): Promise<ScanResult<I> & ScanTiming> {
    const { mode, scanner, reuse } = options;
    const shape = scanShapeOf(dims);
    const qSym = rosaSignPackFast(inputs.q, dims);
    const kSym = rosaSignPackFast(inputs.k, dims);
    const host = reuse?.host ?? scanner.allocateOutputs(shape);
    if (!reuse) for (const a of Object.values(host)) this.bytes += a.length * 4;
    const scanStart = performance.now();
    // The reference backward scatters: it needs no inverse index lists.
    await scanner.scan(mode, shape, qSym, kSym, host, { inverseIndices: false });
    const scanEnd = performance.now();
    return { ...host, host, scanStart, scanEnd };
  }
  rosaInject(inputs: { v: F; e0: F; e1: F; scan: ScanResult<I> }, outputs: { y: F }, dims: RosaDims): void {
    const { v, e0, e1, scan } = inputs;
    rosaInjectionForwardFast(v, e0, e1, scan.dest, dims, outputs.y);
  }
  rosaBackward(
    args: { q: F; k: F; v: F; e0: F; e1: F; gradY: F; scan: ScanResult<I> },
    out: { gradQ: F; gradK: F; gradV: F; gradE0: F; gradE1: F },
    dims: RosaDims,
    options: RosaBackwardOptions,
  ): void {
    rosaInjectionBackwardFast(
      {
        ...dims,
        q: args.q,
        k: args.k,
        v: args.v,
        e0: args.e0,
        e1: args.e1,
        gradY: args.gradY,
        scan: args.scan.host,
        tempQ: options.tempQ,
        tempK: options.tempK,
        tempV: options.tempV,
        hardVForQ: !options.vProb,
        hardVForK: !options.vProb,
      },
      out,
    );
  }

  linearBackward(
    inputs: { x: F; w: F; dy: F },
    outputs: { dx: F | null; dw: F | null },
    shape: LinearShape,
    options: { accumulateDx?: boolean } = {},
  ): void {
    const { x, w, dy } = inputs;
    const { dx, dw } = outputs;
    const { rows, inDim, outDim } = shape;
    if (dx) matmulOn(this.lease, dy, w, dx, { M: rows, N: inDim, K: outDim }, options.accumulateDx ?? false);
    if (dw) matmulOn(this.lease, dy, x, dw, { M: outDim, N: inDim, K: rows, transA: true }, true);
  }
  linearSharedBackward(
    inputs: { x: F; ws: readonly F[]; dys: readonly F[] },
    outputs: { dx: F; dws: readonly F[] },
    shape: LinearShape,
    options: { accumulateDx?: boolean } = {},
  ): void {
    inputs.ws.forEach((w, i) => {
      const accumulateDx = i > 0 || (options.accumulateDx ?? false);
      this.linearBackward(
        { x: inputs.x, w, dy: inputs.dys[i] },
        { dx: outputs.dx, dw: outputs.dws[i] },
        shape,
        { accumulateDx },
      );
    });
  }
  ropeManyBackward(
    inputs: { dys: readonly F[] },
    outputs: { dxs: readonly F[] },
    shape: AttentionShape,
    options: { base: number },
  ): void {
    for (const [i, dy] of inputs.dys.entries())
      this.ropeBackward({ dy }, { dx: outputs.dxs[i] }, shape, options);
  }
  rmsnormBackward(
    inputs: { x: F; w: F; rstd: F; dy: F },
    outputs: { dx: F; dw: F | null },
    shape: RowShape,
    options: { accumulateDx?: boolean } = {},
  ): void {
    const { x, w, rstd, dy } = inputs;
    rmsnormBackwardFast(
      x,
      w,
      rstd,
      dy,
      outputs.dx,
      outputs.dw,
      shape.N,
      shape.C,
      options.accumulateDx ?? false,
    );
  }
  ropeBackward(
    inputs: { dy: F },
    outputs: { dx: F },
    shape: AttentionShape,
    options: { base: number },
  ): void {
    ropeFast(inputs.dy, outputs.dx, ropeShape(shape, options.base), -1);
  }
  attentionBackward(
    inputs: { q: F; k: F; v: F; out: F; lse: F; dout: F },
    outputs: { dq: F; dk: F; dv: F },
    shape: AttentionShape,
  ): void {
    const { q, k, v, out, lse, dout } = inputs;
    const pool = this.lease?.threads ?? null;
    if (attentionThreaded(pool, shape))
      attentionBackwardThreaded(pool, q, k, v, out, lse, dout, outputs.dq, outputs.dk, outputs.dv, shape);
    else attentionBackwardFast(q, k, v, out, lse, dout, outputs.dq, outputs.dk, outputs.dv, shape);
  }
  lrsaAttentionBackward(
    inputs: { q: F; k: F; v: F; selected: I; out: F; lse: F; dout: F },
    outputs: { dq: F; dk: F; dv: F },
    shape: LrsaShape,
  ): void {
    const { q, k, v, out, lse, dout } = inputs;
    const selected = selectedOf(inputs.selected, shape);
    const r = lrsaAttentionBackwardReference(q, k, v, selected, out, lse, dout, shape);
    outputs.dq.set(r.dq);
    outputs.dk.set(r.dk);
    outputs.dv.set(r.dv);
  }
  swigluBackward(inputs: { a: F; b: F; dout: F }, outputs: { da: F; db: F }): void {
    swigluBackwardFast(inputs.a, inputs.b, inputs.dout, outputs.da, outputs.db);
  }
  embeddingBackward(
    inputs: { tokens: I; tokenIds: Int32Array; dout: F },
    outputs: { dtable: F },
    shape: VocabShape,
  ): void {
    embeddingBackward(inputs.tokens, inputs.dout, shape.N, shape.C, shape.V, outputs.dtable);
  }

  // Attention of the Llama/Qwen family: biases and grouped-query attention.
  addBias(inputs: { b: F }, outputs: { y: F }, shape: RowShape): void {
    biasForward(outputs.y, inputs.b, shape.N, shape.C);
  }
  biasBackward(inputs: { dy: F }, outputs: { db: F }, shape: RowShape): void {
    biasBackward(inputs.dy, outputs.db, shape.N, shape.C);
  }
  repeatKvHeads(inputs: { x: F }, outputs: { y: F }, shape: HeadGroupShape): void {
    outputs.y.set(repeatKvForward(inputs.x, shape));
  }
  repeatKvHeadsBackward(inputs: { dy: F }, outputs: { dx: F }, shape: HeadGroupShape): void {
    outputs.dx.set(repeatKvBackward(inputs.dy, shape));
  }

  adamw(groups: AdamGroup<F>[], hyper: AdamHyper, step: number): void {
    const cpuGroups: CpuParamGroup[] = groups.map((g) => ({
      lr: g.lr,
      weightDecay: g.weightDecay,
      params: g.params,
    }));
    this.gradNorm = adamwStepReference(cpuGroups, hyper, step).gradNorm;
  }
  async readGradNorm(): Promise<number> {
    return this.gradNorm;
  }
}
