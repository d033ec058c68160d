// The op list the model is written against. Two implementations: the WebGPU backend
// (kernels recorded into command batches) and the CPU backend (the CPU twins). The model
// code in model.ts is the same for both, which is what makes a GPU step comparable with
// the CPU step to tight tolerance.
//
// Conventions: tensors are opaque handles of the backend (`F` for f32, `I` for i32);
// every op writes its outputs unless it says it accumulates. Parameter gradients always
// accumulate (they are zeroed at the start of a step), activations' gradients are written.

import type { RosaMode, ScanOutputs, ScanShape } from '../../rosa-worker/layout.ts';
import type { AttentionShape } from '../reference/attention.ts';
import type { LrsaShape } from '../reference/lrsa.ts';
import type { HeadGroupShape } from '../reference/repeat-kv.ts';
import type { RosaDims } from '../reference/rosa.ts';

export interface Sized {
  readonly length: number;
}

export interface LossStats {
  meanLoss: number;
  count: number;
  correctCount: number;
  accuracy: number;
}

/** Which micro-batch a cross-entropy call is, and how its gradient is scaled. */
export interface LossPart {
  /** The gradient is of gradScale × this call's mean loss (a part's share of the batch's labels). */
  gradScale?: number;
  part?: number;
  parts?: number;
}

/** The loss of a batch from its micro-batches' sums (one part: that part's figures unchanged). */
export function combinedLoss(parts: ReadonlyArray<LossStats & { lossSum: number }>): LossStats {
  if (parts.length === 1) {
    const { meanLoss, count, correctCount, accuracy } = parts[0];
    return { meanLoss, count, correctCount, accuracy };
  }
  let lossSum = 0;
  let count = 0;
  let correctCount = 0;
  for (const p of parts) {
    lossSum += p.lossSum;
    count += p.count;
    correctCount += p.correctCount;
  }
  return {
    meanLoss: count > 0 ? lossSum / count : 0,
    count,
    correctCount,
    accuracy: count > 0 ? correctCount / count : 0,
  };
}

/** What a training step reports once it has run: the loss and the gradient norm. */
export interface StepStats {
  loss: LossStats;
  gradNorm: number;
}

export interface RosaBackwardOptions {
  tempQ: number;
  tempK: number;
  tempV: number;
  /** true: the V field of the Q and K contrasts is σ(T_V·v); false: the hard bits. */
  vProb: boolean;
}

/** The scan results on the backend, plus their CPU copy (for the retrieval inspector). */
export interface ScanResult<I> {
  dest: I;
  qRunId: I;
  rcf: I;
  kRunStart: I;
  destInvOffsets: I;
  destInvPositions: I;
  cfInvOffsets: I;
  cfInvPositions: I;
  host: ScanOutputs;
}

/** Runs ROSA scans on the CPU (a worker pool, or this thread). */
export interface RosaScanner {
  /**
   * Fills dest, qRunId, rcf and kRunStart of `out`; the inverse index lists too unless
   * `inverseIndices` is false (the GPU builds them from dest itself, the CPU backward scatters).
   */
  scan(
    mode: RosaMode,
    shape: ScanShape,
    qSym: Uint8Array,
    kSym: Uint8Array,
    out: ScanOutputs,
    options?: { inverseIndices?: boolean },
  ): Promise<void>;
  /** Output arrays the scanner fills fastest (shared memory for a worker pool). */
  allocateOutputs(shape: ScanShape): ScanOutputs;
  readonly workers: number;
  readonly sharedMemory: boolean;
  /** Stops the workers (a no-op for an inline scanner). */
  terminate?(): Promise<void>;
}

export interface AdamGroup<F> {
  lr: number;
  weightDecay: number;
  /** Frozen groups (lr 0) stay out of the clipping norm, as if they had no gradient. */
  excludeFromNorm: boolean;
  params: Array<{ param: F; grad: F; m: F; v: F }>;
}

export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
  maxGradNorm: number;
}

export interface ScanTiming {
  /** performance.now() when the symbols reached the CPU and when the scan results were ready. */
  scanStart: number;
  scanEnd: number;
}

/** N rows of width C (RMSNorm). */
export interface RowShape {
  N: number;
  C: number;
}

/** N token positions, width C, vocabulary V (embedding and its backward). */
export interface VocabShape extends RowShape {
  V: number;
}

/** N rows of V logits (cross-entropy). */
export interface LossShape {
  N: number;
  V: number;
}

/** x [rows, inDim] against W [outDim, inDim]. */
export interface LinearShape {
  rows: number;
  inDim: number;
  outDim: number;
}

export interface Backend<F extends Sized, I extends Sized> {
  readonly kind: 'webgpu' | 'cpu';

  // Memory
  alloc(n: number, label: string): F;
  upload(data: Float32Array, label: string): F;
  allocInt(n: number, label: string): I;
  writeInts(target: I, data: Int32Array): void;
  write(target: F, data: Float32Array): void;
  /** Copies back, all sources in one round trip. */
  read(sources: readonly F[]): Promise<Float32Array[]>;
  /** Copies back elements [start, start + length) of one source (e.g. one row of the logits). */
  readRange(source: F, start: number, length: number): Promise<Float32Array>;
  /** Frees handles; a slice (allocSlices) is freed with its whole, not alone. */
  free(...handles: Array<F | I>): void;
  /**
   * Optional: zeroed tensors of the given lengths as slices of one allocation (`whole`), so
   * that an op over `whole` covers them all; null when that would not fit the device.
   */
  allocSlices?(
    lengths: readonly number[],
    label: string,
    names: readonly string[],
  ): { whole: F; slices: F[] } | null;
  zero(target: F): void;
  /** Bytes of device memory currently allocated through this backend. */
  allocatedBytes(): number;
  /** Submits recorded work (GPU); resolves when it has finished. No-op on the CPU. */
  finish(): Promise<void>;
  /** Submits recorded work without waiting (GPU). */
  flush(): void;
  /** Resolves with performance.now() once all submitted work has finished (at once on the CPU). */
  idle(): Promise<number>;
  /** Releases what the backend holds besides tensors (GPU scratch, CPU worker threads); last. */
  dispose(): void;

  // Forward ops: (inputs, outputs, shape, options)
  embedding(inputs: { tokens: I; table: F }, outputs: { out: F }, shape: VocabShape): void;
  rmsnorm(
    inputs: { x: F; w: F },
    outputs: { y: F; rstd: F },
    shape: RowShape,
    options: { eps: number },
  ): void;
  /**
   * y (+)= x · Wᵀ with x [rows, inDim], W [outDim, inDim]; with `residual` (another tensor
   * than y), y = residual + x · Wᵀ: a layer and its residual connection in one op.
   */
  linear(
    inputs: { x: F; w: F },
    outputs: { y: F },
    shape: LinearShape,
    options?: { accumulate?: boolean; residual?: F },
  ): void;
  /**
   * ys[i] = xs · ws[i]ᵀ for linear layers that read the same input with the same shape (q/k/v,
   * w1/w3): one dispatch where the weights and outputs are each laid out at one stride.
   */
  linearShared(inputs: { x: F; ws: readonly F[] }, outputs: { ys: readonly F[] }, shape: LinearShape): void;
  rope(inputs: { x: F }, outputs: { out: F }, shape: AttentionShape, options: { base: number }): void;
  /** outs[i] = RoPE(xs[i]) for each i (q and k; in place when outs = xs), one dispatch where strided. */
  ropeMany(
    inputs: { xs: readonly F[] },
    outputs: { outs: readonly F[] },
    shape: AttentionShape,
    options: { base: number },
  ): void;
  attention(inputs: { q: F; k: F; v: F }, outputs: { out: F; lse: F }, shape: AttentionShape): void;
  /** LagKV top-k per chunk; score = s^K + scoreVRatio · s^V. */
  lrsaSelect(
    inputs: { k: F; v: F },
    outputs: { selected: I },
    shape: LrsaShape,
    options: { scoreVRatio: number },
  ): void;
  lrsaAttention(
    inputs: { q: F; k: F; v: F; selected: I },
    outputs: { out: F; lse: F },
    shape: LrsaShape,
  ): void;
  swiglu(inputs: { a: F; b: F }, outputs: { out: F }): void;
  /** y[n, c] += b[c] on each of N rows of C (a linear layer's bias, after linear()). */
  addBias(inputs: { b: F }, outputs: { y: F }, shape: RowShape): void;
  /** Grouped-query attention: y [N, heads·D] from x [N, kvHeads·D], each key/value head copied to its group. */
  repeatKvHeads(inputs: { x: F }, outputs: { y: F }, shape: HeadGroupShape): void;
  add(a: F, b: F, out: F): void;
  /** y += alpha · x */
  axpy(x: F, y: F, alpha?: number): void;
  /**
   * Loss over rows with label ≥ 0; with dlogits, also the gradient of gradScale (default 1) ×
   * the mean loss. A batch split into micro-batches calls it once per part (`part` 0, 1, … of
   * `parts`, in that order): readLoss and readStepStats then report the loss of all parts together.
   */
  crossEntropy(
    inputs: { logits: F; labels: I },
    outputs: { dlogits: F | null },
    shape: LossShape,
    options?: LossPart,
  ): void;
  readLoss(): Promise<LossStats>;

  // ROSA
  rosaScan(
    inputs: { q: F; k: F },
    dims: RosaDims,
    options: { mode: RosaMode; scanner: RosaScanner; reuse?: ScanResult<I> },
  ): Promise<ScanResult<I> & ScanTiming>;
  rosaInject(inputs: { v: F; e0: F; e1: F; scan: ScanResult<I> }, outputs: { y: F }, dims: RosaDims): void;
  /** Writes gradQ/K/V; accumulates gradE0/E1. */
  rosaBackward(
    args: { q: F; k: F; v: F; e0: F; e1: F; gradY: F; scan: ScanResult<I> },
    out: { gradQ: F; gradK: F; gradV: F; gradE0: F; gradE1: F },
    dims: RosaDims,
    options: RosaBackwardOptions,
  ): void;

  // Backward ops
  /** dx (+)= dy · W (skipped when dx is null); dW += dyᵀ · x (skipped when dw is null). */
  linearBackward(
    inputs: { x: F; w: F; dy: F },
    outputs: { dx: F | null; dw: F | null },
    shape: LinearShape,
    options?: { accumulateDx?: boolean },
  ): void;
  /** The backward of linearShared: dx (+)= Σ_i dys[i] · ws[i]; dws[i] += dys[i]ᵀ · x. */
  linearSharedBackward(
    inputs: { x: F; ws: readonly F[]; dys: readonly F[] },
    outputs: { dx: F; dws: readonly F[] },
    shape: LinearShape,
    options?: { accumulateDx?: boolean },
  ): void;
  /** dxs[i] = RoPE⁻¹(dys[i]), the backward of ropeMany. */
  ropeManyBackward(
    inputs: { dys: readonly F[] },
    outputs: { dxs: readonly F[] },
    shape: AttentionShape,
    options: { base: number },
  ): void;
  /** dx (+)= …, dw += … */
  rmsnormBackward(
    inputs: { x: F; w: F; rstd: F; dy: F },
    outputs: { dx: F; dw: F | null },
    shape: RowShape,
    options?: { accumulateDx?: boolean },
  ): void;
  ropeBackward(inputs: { dy: F }, outputs: { dx: F }, shape: AttentionShape, options: { base: number }): void;
  attentionBackward(
    inputs: { q: F; k: F; v: F; out: F; lse: F; dout: F },
    outputs: { dq: F; dk: F; dv: F },
    shape: AttentionShape,
  ): void;
  lrsaAttentionBackward(
    inputs: { q: F; k: F; v: F; selected: I; out: F; lse: F; dout: F },
    outputs: { dq: F; dk: F; dv: F },
    shape: LrsaShape,
  ): void;
  swigluBackward(inputs: { a: F; b: F; dout: F }, outputs: { da: F; db: F }): void;
  /** db[c] += Σ_n dy[n, c] */
  biasBackward(inputs: { dy: F }, outputs: { db: F }, shape: RowShape): void;
  /** dx [N, kvHeads·D] = the sum of dy [N, heads·D] over each group of query heads (written). */
  repeatKvHeadsBackward(inputs: { dy: F }, outputs: { dx: F }, shape: HeadGroupShape): void;
  /** dtable += scatter of dout by token; tokenIds is the CPU copy of tokens. */
  embeddingBackward(
    inputs: { tokens: I; tokenIds: Int32Array; dout: F },
    outputs: { dtable: F },
    shape: VocabShape,
  ): void;

  // Optimizer
  /** Global-norm clipping then AdamW on every group; the norm is read later with readGradNorm. */
  adamw(groups: AdamGroup<F>[], hyper: AdamHyper, step: number): void;
  readGradNorm(): Promise<number>;
  /** Optional: readLoss and readGradNorm together, in one round trip (one GPU sync point). */
  readStepStats?(): Promise<StepStats>;
}
