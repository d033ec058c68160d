// The WebGPU backend: ops are recorded into one CommandBatch and submitted at flush().
// Writes from the CPU (tokens, labels, scan results) flush first, so the GPU sees them in
// program order. Scratch buffers are created on first use and kept per shape.

import type { GpuOptions } from '../../config/schema.ts';
import {
  NARROW_SCAN_MAX_T,
  narrowScanMaxWords,
  packNarrowScan,
  paddedLength,
  type RosaMode,
  UPLOADED_SCAN_FIELDS,
} from '../../rosa-worker/layout.ts';
import { CommandBatch } from '../batch.ts';
import type { GpuContext } from '../context.ts';
import { f16InUse, subgroupsInUse } from '../features.ts';
import { adamwUpdate, gradNormFinish, gradNormSlots, gradSumSquares } from '../ops/adamw.ts';
import { attentionBackward, attentionForward } from '../ops/attention.ts';
import { biasBackward, biasForward } from '../ops/bias.ts';
import {
  CE_STATS_LENGTH,
  type CrossEntropyOutputs,
  checkedCrossEntropyStats,
  createCrossEntropyOutputs,
  crossEntropy,
} from '../ops/cross-entropy.ts';
import { add, axpy } from '../ops/elementwise.ts';
import { embeddingBackward, embeddingForward } from '../ops/embedding.ts';
import { lagkvSelect, lrsaAttentionBackward, lrsaAttentionForward, lrsaTensorSizes } from '../ops/lrsa.ts';
import { matmul, matmulSplitK, splitKSlices } from '../ops/matmul.ts';
import { type HeadGroupShape, repeatKvBackward, repeatKvForward } from '../ops/repeat-kv.ts';
import { rmsnormBackward, rmsnormForward } from '../ops/rmsnorm.ts';
import {
  createRopeTable,
  type RopeSegments,
  type RopeTable,
  ropeBackward,
  ropeForward,
} from '../ops/rope.ts';
import {
  createRosaBackwardScratch,
  createScanTensors,
  type RosaBackwardScratch,
  type RosaScanTensors,
  rosaInjectionBackward,
  rosaInjectionForward,
  rosaSignPack,
  signPackWords,
} from '../ops/rosa.ts';
import { rosaBuildInverseLists, rosaWidenScan } from '../ops/rosa-scan-outputs.ts';
import { swigluBackward, swigluForward } from '../ops/swiglu.ts';
import { preferredRowStrategy } from '../ops/workgroups.ts';
import type { AttentionShape } from '../reference/attention.ts';
import { buildTokenPositionLists, type TokenPositionLists } from '../reference/embedding.ts';
import type { LrsaShape } from '../reference/lrsa.ts';
import { type RosaDims, scanShapeOf } from '../reference/rosa.ts';
import {
  createTensor,
  readTensor,
  readTensors,
  sliceOf,
  spanOf,
  stridedSpan,
  type Tensor,
  tensorSlices,
  writeTensor,
} from '../tensor.ts';
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
  type StepStats,
  type VocabShape,
} from './backend.ts';

type F = Tensor<'f32'>;
type I = Tensor<'i32'>;

function ropeShape(shape: AttentionShape, base: number) {
  return { B: shape.B, T: shape.T, H: shape.H, D: shape.D, base };
}

interface GpuScan extends ScanResult<I> {
  tensors: RosaScanTensors;
}

/** Workgroups to aim for in a weight gradient on a GPU: a few per core of a large one. */
const SPLIT_K_TARGET_WORKGROUPS = 512;
/** The split-K partial products' scratch stays under 16 MB. */
const SPLIT_K_MAX_PARTIALS = 4 * 2 ** 20;

export class GpuBackend implements Backend<F, I> {
  readonly kind = 'webgpu' as const;
  readonly ctx: GpuContext;
  private batch: CommandBatch;
  private bytes = 0;
  private readonly scratch = new Map<string, Tensor>();
  private readonly ropeTables = new Map<string, RopeTable>();
  /** Cross-entropy outputs; one stats buffer per micro-batch of the last batch (`parts` of them). */
  private ce: {
    key: string;
    V: number;
    losses: Tensor;
    correct: Tensor;
    stats: Tensor[];
    parts: number;
  } | null = null;
  private tokenLists: TokenPositionLists | null = null;
  /** The batch that holds the last reader of the embedding's token lists (embeddingBackward). */
  private embeddingListsReader: CommandBatch | null = null;
  private readonly rosaScratch = new Map<string, RosaBackwardScratch>();
  /** Read-back buffers not in use, by use and size; several reads of one kind can be in flight. */
  private readonly stagingFree = new Map<string, GPUBuffer[]>();
  private readonly stagingAll: GPUBuffer[] = [];
  /** Host side of the narrow scan upload, reused across layers and steps. */
  private narrowHost: Uint32Array | undefined;
  private adam: { key: string; partials: F; norm: F; slots: number[]; total: number } | null = null;

  /** Whether RMSNorm's row sums use subgroup operations (features.ts subgroupsInUse). */
  readonly subgroups: boolean;
  /** Whether forward linear layers hold their matmul tiles in f16 (features.ts f16InUse). */
  readonly f16Tiles: boolean;

  /**
   * Workgroups a weight-gradient product should spread over (split-K). 1 on software adapters:
   * one workgroup per tile already keeps their few cores busy, and every extra pass costs there.
   */
  private readonly splitKTarget: number;

  constructor(ctx: GpuContext, options: Partial<GpuOptions> & { splitKTarget?: number } = {}) {
    this.ctx = ctx;
    this.splitKTarget = options.splitKTarget ?? (ctx.adapter.isSoftware ? 1 : SPLIT_K_TARGET_WORKGROUPS);
    this.subgroups = subgroupsInUse(ctx, options.subgroups ?? 'auto');
    this.f16Tiles = f16InUse(ctx, options.f16 ?? 'off');
    this.batch = new CommandBatch(ctx, 'model');
  }

  // ---- memory -------------------------------------------------------------------------
  private track<T extends Tensor>(t: T): T {
    this.bytes += Math.max(4, t.length * 4);
    return t;
  }
  alloc(n: number, label: string): F {
    return this.track(createTensor(this.ctx, [n], 'f32', label));
  }
  upload(data: Float32Array, label: string): F {
    return this.track(createTensor(this.ctx, [data.length], 'f32', label, data));
  }
  allocInt(n: number, label: string): I {
    return this.track(createTensor(this.ctx, [n], 'i32', label));
  }
  writeInts(target: I, data: Int32Array): void {
    this.flush();
    writeTensor(this.ctx, target, data);
  }
  write(target: F, data: Float32Array): void {
    this.flush();
    writeTensor(this.ctx, target, data);
  }
  async read(sources: readonly F[]): Promise<Float32Array[]> {
    this.flush();
    return readTensors(this.ctx, sources);
  }
  async readRange(source: F, start: number, length: number): Promise<Float32Array> {
    this.flush();
    return readTensor(this.ctx, sliceOf(source, start, length, `${source.label}[${start}…]`));
  }
  allocSlices(lengths: readonly number[], label: string, names: readonly string[]) {
    const sliced = tensorSlices(this.ctx, lengths, label, names);
    if (sliced) this.track(sliced.whole);
    return sliced;
  }
  free(...handles: Array<F | I>): void {
    this.flush();
    for (const h of handles) {
      if (h.byteOffset !== undefined) continue; // a slice: freed with its whole
      this.bytes -= Math.max(4, h.length * 4);
      h.buffer.destroy();
    }
  }
  zero(target: F): void {
    this.batch.clear(target);
  }
  allocatedBytes(): number {
    return this.bytes;
  }
  flush(): void {
    this.ctx.assertAlive();
    if (this.batch.isEmpty) return;
    this.batch.submit();
    this.batch = new CommandBatch(this.ctx, 'model');
  }
  async finish(): Promise<void> {
    this.flush();
    await this.ctx.workDone();
    this.ctx.assertAlive();
  }
  async idle(): Promise<number> {
    await this.ctx.workDone();
    return performance.now();
  }

  /** A scratch tensor of at least n elements, shared by every op that asks for `name`. */
  private temp(name: string, n: number, dtype: 'f32' | 'i32' | 'u32' = 'f32'): Tensor {
    const have = this.scratch.get(name);
    if (have && have.length >= n && have.dtype === dtype) return have;
    if (have) {
      this.flush();
      this.bytes -= have.length * 4;
      have.buffer.destroy();
    }
    const t = this.track(createTensor(this.ctx, [Math.max(1, n)], dtype, `scratch:${name}`));
    this.scratch.set(name, t);
    return t;
  }

  private rows(rowLength: number) {
    return preferredRowStrategy(this.ctx.adapter, rowLength);
  }

  // ---- forward ------------------------------------------------------------------------
  embedding(inputs: { tokens: I; table: F }, outputs: { out: F }, shape: VocabShape): void {
    embeddingForward(this.batch, inputs.tokens, inputs.table, outputs.out, shape);
  }
  rmsnorm(
    inputs: { x: F; w: F },
    outputs: { y: F; rstd: F },
    shape: RowShape,
    options: { eps: number },
  ): void {
    rmsnormForward(this.batch, inputs.x, inputs.w, outputs.y, outputs.rstd, shape, {
      eps: options.eps,
      rows: this.rows(shape.C),
      subgroups: this.subgroups,
    });
  }
  linear(
    inputs: { x: F; w: F },
    outputs: { y: F },
    shape: LinearShape,
    options: { accumulate?: boolean; residual?: F } = {},
  ): void {
    matmul(this.batch, inputs.x, inputs.w, outputs.y, {
      M: shape.rows,
      N: shape.outDim,
      K: shape.inDim,
      transB: true,
      accumulate: options.accumulate ?? false,
      residual: options.residual,
      f16Tiles: this.f16Tiles,
    });
  }
  linearShared(inputs: { x: F; ws: readonly F[] }, outputs: { ys: readonly F[] }, shape: LinearShape): void {
    const ws = stridedSpan(inputs.ws, 'shared-input weights');
    const ys = stridedSpan(outputs.ys, 'shared-input outputs');
    if (!ws || !ys) {
      for (const [i, w] of inputs.ws.entries()) this.linear({ x: inputs.x, w }, { y: outputs.ys[i] }, shape);
      return;
    }
    // One batched product: the input is shared (stride 0), weights and outputs at their strides.
    matmul(this.batch, inputs.x, ws.whole, ys.whole, {
      M: shape.rows,
      N: shape.outDim,
      K: shape.inDim,
      transB: true,
      batch: inputs.ws.length,
      strideA: 0,
      strideB: ws.stride,
      strideC: ys.stride,
      f16Tiles: this.f16Tiles,
    });
  }
  private ropeTable(T: number, D: number, base: number): RopeTable {
    const key = `${D}:${base}`;
    const have = this.ropeTables.get(key);
    if (have && have.positions >= T) return have;
    if (have) {
      this.flush();
      have.tensor.buffer.destroy();
    }
    const table = createRopeTable(this.ctx, Math.max(T, 1), D, base);
    this.ropeTables.set(key, table);
    return table;
  }
  rope(inputs: { x: F }, outputs: { out: F }, shape: AttentionShape, options: { base: number }): void {
    const table = this.ropeTable(shape.T, shape.D, options.base);
    ropeForward(this.batch, { x: inputs.x, out: outputs.out, table }, ropeShape(shape, options.base));
  }
  ropeMany(
    inputs: { xs: readonly F[] },
    outputs: { outs: readonly F[] },
    shape: AttentionShape,
    options: { base: number },
  ): void {
    this.ropeSegments(inputs.xs, outputs.outs, shape, options.base, false);
  }
  /** RoPE (or its inverse) of several tensors: one dispatch where both sides are strided. */
  private ropeSegments(
    xs: readonly F[],
    outs: readonly F[],
    shape: AttentionShape,
    base: number,
    inverse: boolean,
  ) {
    const table = this.ropeTable(shape.T, shape.D, base);
    const x = stridedSpan(xs, 'rope inputs');
    const out = stridedSpan(outs, 'rope outputs');
    const rshape = ropeShape(shape, base);
    const record = inverse
      ? (a: F, b: F, segments?: RopeSegments) =>
          ropeBackward(this.batch, { dy: a, dx: b, table }, rshape, {}, segments)
      : (a: F, b: F, segments?: RopeSegments) =>
          ropeForward(this.batch, { x: a, out: b, table }, rshape, {}, segments);
    if (!x || !out) {
      for (const [i, t] of xs.entries()) record(t, outs[i]);
      return;
    }
    const count = xs.length;
    record(x.whole, out.whole, { count, rotated: count, strideIn: x.stride, strideOut: out.stride });
  }
  attention(inputs: { q: F; k: F; v: F }, outputs: { out: F; lse: F }, shape: AttentionShape): void {
    attentionForward(this.batch, { ...inputs, ...outputs }, shape);
  }
  lrsaSelect(
    inputs: { k: F; v: F },
    outputs: { selected: I },
    shape: LrsaShape,
    options: { scoreVRatio: number },
  ): void {
    const scores = this.temp('lagkv-scores', lrsaTensorSizes(shape).scores);
    lagkvSelect(this.batch, inputs.k, inputs.v, outputs.selected, scores, shape, options);
  }
  lrsaAttention(
    inputs: { q: F; k: F; v: F; selected: I },
    outputs: { out: F; lse: F },
    shape: LrsaShape,
  ): void {
    const { q, k, v, selected } = inputs;
    lrsaAttentionForward(this.batch, q, k, v, selected, outputs.out, outputs.lse, shape);
  }
  swiglu(inputs: { a: F; b: F }, outputs: { out: F }): void {
    swigluForward(this.batch, inputs.a, inputs.b, outputs.out);
  }
  add(a: F, b: F, out: F): void {
    add(this.batch, a, b, out);
  }
  axpy(x: F, y: F, alpha = 1): void {
    axpy(this.batch, x, y, alpha);
  }
  crossEntropy(
    inputs: { logits: F; labels: I },
    outputs: { dlogits: F | null },
    shape: LossShape,
    options: LossPart = {},
  ): void {
    const { N, V } = shape;
    const { gradScale = 1, part = 0, parts = 1 } = options;
    const key = `${N}:${V}`;
    if (!this.ce || this.ce.key !== key) {
      this.flush();
      if (this.ce) for (const t of [this.ce.losses, this.ce.correct, ...this.ce.stats]) t.buffer.destroy();
      const { losses, correct, stats } = createCrossEntropyOutputs(this.ctx, { N, V }, false);
      this.ce = { key, V, losses, correct, stats: [stats], parts: 1 };
    }
    const ce = this.ce;
    while (ce.stats.length <= part)
      ce.stats.push(
        createTensor(this.ctx, [CE_STATS_LENGTH], 'f32', `cross-entropy:stats ${ce.stats.length}`),
      );
    if (part === 0) ce.parts = parts;
    // losses and correct are shared: each part's finish pass has read them before the next part writes.
    const ceOutputs: CrossEntropyOutputs = {
      losses: ce.losses,
      correct: ce.correct,
      stats: ce.stats[part],
      dlogits: outputs.dlogits ?? undefined,
    };
    crossEntropy(this.batch, inputs.logits, inputs.labels, ceOutputs, shape, {
      rows: this.rows(V),
      scale: gradScale,
    });
  }
  async readLoss(): Promise<LossStats> {
    return (await this.readLossParts(false)).loss;
  }

  /** The last batch's loss over all its parts (and the optimizer's gradient norm), in one read. */
  private async readLossParts(withNorm: boolean): Promise<{ loss: LossStats; gradNorm: number }> {
    const ce = this.ce;
    if (!ce) throw new Error('readLoss: no cross-entropy was recorded');
    if (withNorm && !this.adam) throw new Error('readStepStats: no optimizer step was recorded');
    // Every copy rides in the step's own submit; one map reads them.
    const statsBytes = CE_STATS_LENGTH * 4;
    const bytes = ce.parts * statsBytes + (withNorm ? 8 : 0);
    const staging = this.takeStaging(bytes, withNorm ? 'step stats' : 'loss');
    for (let p = 0; p < ce.parts; p++)
      this.batch.copy(ce.stats[p], staging.buffer, statsBytes, 0, p * statsBytes);
    if (withNorm && this.adam) this.batch.copy(this.adam.norm, staging.buffer, 8, 0, ce.parts * statsBytes);
    this.flush();
    const values = await this.mapAndCopy(staging);
    const parts = Array.from({ length: ce.parts }, (_, p) =>
      checkedCrossEntropyStats(values.subarray(p * CE_STATS_LENGTH, (p + 1) * CE_STATS_LENGTH), { V: ce.V }),
    );
    const loss = combinedLoss(parts);
    return { loss, gradNorm: withNorm ? values[ce.parts * CE_STATS_LENGTH] : Number.NaN };
  }

  // ---- ROSA ---------------------------------------------------------------------------
  /**
   * A read-back buffer of `bytes` that no other read in flight holds (micro-batches map their
   * symbols concurrently); mapAndCopy gives it back.
   */
  private takeStaging(bytes: number, use: string): { buffer: GPUBuffer; free: GPUBuffer[] } {
    const key = `${use}:${bytes}`;
    let free = this.stagingFree.get(key);
    if (!free) {
      free = [];
      this.stagingFree.set(key, free);
    }
    let buffer = free.pop();
    if (!buffer) {
      buffer = this.ctx.device.createBuffer({
        label: `${use} readback ${bytes}`,
        size: bytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      this.stagingAll.push(buffer);
    }
    return { buffer, free };
  }

  /** Maps a staging buffer once its copies have run, copies it out, unmaps and frees it for reuse. */
  private async mapAndCopy(staging: { buffer: GPUBuffer; free: GPUBuffer[] }): Promise<Float32Array> {
    await this.ctx.mapRead(staging.buffer);
    const values = new Float32Array(staging.buffer.getMappedRange().slice(0));
    staging.buffer.unmap();
    staging.free.push(staging.buffer);
    return values;
  }

  async rosaScan(
    inputs: { q: F; k: F },
    dims: RosaDims,
    options: { mode: RosaMode; scanner: RosaScanner; reuse?: ScanResult<I> },
  ): Promise<ScanResult<I> & ScanTiming> {
    const { mode, scanner, reuse } = options;
    const words = signPackWords(dims);
    const dimsKey = `${dims.B}:${dims.T}:${dims.C}:${dims.bits}`;
    const qSymT = this.temp(`rosa-q-sym:${dimsKey}`, words, 'u32');
    const kSymT = this.temp(`rosa-k-sym:${dimsKey}`, words, 'u32');
    rosaSignPack(this.batch, inputs.q, qSymT, dims);
    rosaSignPack(this.batch, inputs.k, kSymT, dims);
    const bytes = words * 4;
    const staging = this.takeStaging(2 * bytes, 'rosa symbols');
    this.batch.copy(qSymT, staging.buffer, bytes, 0, 0);
    this.batch.copy(kSymT, staging.buffer, bytes, 0, bytes);
    this.flush();
    // Requested before the caller submits the attention, so it resolves as soon as the
    // symbols are ready, while the attention is still running.
    const all = new Uint8Array((await this.mapAndCopy(staging)).buffer);
    const shape = scanShapeOf(dims);
    const symBytes = shape.lanes * paddedLength(dims.T);
    const qSym = all.subarray(0, symBytes);
    const kSym = all.subarray(bytes, bytes + symBytes);
    const previous = reuse as GpuScan | undefined;
    const host = previous?.host ?? scanner.allocateOutputs(shape);
    const scanStart = performance.now();
    // The inverse lists are built on the GPU (rosaBuildInverseLists): only the scan goes up.
    await scanner.scan(mode, shape, qSym, kSym, host, { inverseIndices: false });
    const scanEnd = performance.now();
    const tensors = previous?.tensors ?? createScanTensors(this.ctx, dims);
    if (!previous) for (const t of Object.values(tensors)) this.bytes += t.length * 4;
    this.flush();
    if (shape.T <= NARROW_SCAN_MAX_T) {
      // A quarter to half of the bytes: u8/u16 on the bus, widened to i32 on the GPU.
      const { packed, layout } = packNarrowScan(host, shape, this.narrowHost);
      this.narrowHost = packed;
      const packedT = this.temp(`rosa-narrow:${dimsKey}`, narrowScanMaxWords(shape), 'u32');
      writeTensor(this.ctx, packedT, packed.subarray(0, layout.words));
      rosaWidenScan(this.batch, packedT, layout, tensors, shape);
    } else {
      for (const name of UPLOADED_SCAN_FIELDS) writeTensor(this.ctx, tensors[name], host[name]);
    }
    rosaBuildInverseLists(this.batch, tensors, shape);
    return { ...tensors, host, tensors, scanStart, scanEnd } as GpuScan & ScanTiming;
  }

  rosaInject(inputs: { v: F; e0: F; e1: F; scan: ScanResult<I> }, outputs: { y: F }, dims: RosaDims): void {
    const { v, e0, e1, scan } = inputs;
    rosaInjectionForward(this.batch, { v, e0, e1, dest: scan.dest, y: outputs.y }, dims);
  }

  rosaBackward(
    args: { q: F; k: F; v: F; e0: F; e1: F; gradY: F; scan: ScanResult<I> },
    out: { gradQ: F; gradK: F; gradV: F; gradE0: F; gradE1: F },
    dims: RosaDims,
    options: RosaBackwardOptions,
  ): void {
    const key = `${dims.B}:${dims.T}:${dims.C}:${dims.bits}`;
    let scratch = this.rosaScratch.get(key);
    if (!scratch) {
      scratch = createRosaBackwardScratch(this.ctx, dims);
      this.rosaScratch.set(key, scratch);
    }
    const e0 = this.temp('rosa-grad-e0', dims.C) as F;
    const e1 = this.temp('rosa-grad-e1', dims.C) as F;
    rosaInjectionBackward(
      this.batch,
      {
        q: args.q,
        k: args.k,
        v: args.v,
        e0: args.e0,
        e1: args.e1,
        gradY: args.gradY,
        scan: (args.scan as GpuScan).tensors,
        scratch,
        gradQ: out.gradQ,
        gradK: out.gradK,
        gradV: out.gradV,
        gradE0: e0,
        gradE1: e1,
      },
      dims,
      {
        tempQ: options.tempQ,
        tempK: options.tempK,
        tempV: options.tempV,
        hardVForQ: !options.vProb,
        hardVForK: !options.vProb,
      },
    );
    axpy(this.batch, e0, out.gradE0, 1, dims.C);
    axpy(this.batch, e1, out.gradE1, 1, dims.C);
  }

  // ---- backward -----------------------------------------------------------------------
  linearBackward(
    inputs: { x: F; w: F; dy: F },
    outputs: { dx: F | null; dw: F | null },
    shape: LinearShape,
    options: { accumulateDx?: boolean } = {},
  ): void {
    const { x, w, dy } = inputs;
    const { dx, dw } = outputs;
    const { rows, inDim, outDim } = shape;
    const accumulate = options.accumulateDx ?? false;
    if (dx) matmul(this.batch, dy, w, dx, { M: rows, N: inDim, K: outDim, accumulate });
    if (dw) this.weightGradient(dy, x, dw, shape);
  }

  /**
   * dW += dyᵀ · x over `rows` rows: split-K where dW has few tiles (a 64×64 weight over
   * thousands of rows would otherwise run on one workgroup).
   */
  private weightGradient(dy: F, x: F, dw: F, { rows, inDim, outDim }: LinearShape): void {
    const M = outDim;
    const N = inDim;
    let slices = splitKSlices(M, N, rows, this.splitKTarget);
    while (slices > 1 && slices * M * N > SPLIT_K_MAX_PARTIALS) slices = splitKSlices(M, N, rows, slices - 1);
    if (slices === 1) {
      matmul(this.batch, dy, x, dw, { M, N, K: rows, transA: true, accumulate: true });
      return;
    }
    const partials = this.temp('split-k partials', slices * M * N);
    matmulSplitK(this.batch, dy, x, dw, partials, { M, N, K: rows, slices, accumulate: true });
  }
  linearSharedBackward(
    inputs: { x: F; ws: readonly F[]; dys: readonly F[] },
    outputs: { dx: F; dws: readonly F[] },
    shape: LinearShape,
    options: { accumulateDx?: boolean } = {},
  ): void {
    const ws = stridedSpan(inputs.ws, 'shared-input weights');
    const dys = stridedSpan(inputs.dys, 'shared-input output gradients');
    const dws = stridedSpan(outputs.dws, 'shared-input weight gradients');
    if (!ws || !dys || !dws) {
      inputs.ws.forEach((w, i) => {
        const accumulateDx = i > 0 || (options.accumulateDx ?? false);
        this.linearBackward(
          { x: inputs.x, w, dy: inputs.dys[i] },
          { dx: outputs.dx, dw: outputs.dws[i] },
          shape,
          {
            accumulateDx,
          },
        );
      });
      return;
    }
    const { rows, inDim, outDim } = shape;
    const count = inputs.ws.length;
    // dx = Σ_i dy_i · W_i: one product summed over the batch; dW_i = dy_iᵀ · x: batched, x shared.
    matmul(this.batch, dys.whole, ws.whole, outputs.dx, {
      M: rows,
      N: inDim,
      K: outDim,
      batch: count,
      strideA: dys.stride,
      strideB: ws.stride,
      sumBatch: true,
      accumulate: options.accumulateDx ?? false,
    });
    if (splitKSlices(outDim, inDim, rows, this.splitKTarget) > 1) {
      // Split-K cannot batch the group (x is shared, the slices are not): one weight at a time.
      for (const [i, dy] of inputs.dys.entries()) this.weightGradient(dy, inputs.x, outputs.dws[i], shape);
      return;
    }
    matmul(this.batch, dys.whole, inputs.x, dws.whole, {
      M: outDim,
      N: inDim,
      K: rows,
      transA: true,
      batch: count,
      strideA: dys.stride,
      strideB: 0,
      strideC: dws.stride,
      accumulate: true,
    });
  }
  ropeManyBackward(
    inputs: { dys: readonly F[] },
    outputs: { dxs: readonly F[] },
    shape: AttentionShape,
    options: { base: number },
  ): void {
    this.ropeSegments(inputs.dys, outputs.dxs, shape, options.base, true);
  }
  rmsnormBackward(
    inputs: { x: F; w: F; rstd: F; dy: F },
    outputs: { dx: F; dw: F | null },
    shape: RowShape,
    options: { accumulateDx?: boolean } = {},
  ): void {
    const { C } = shape;
    const dw = outputs.dw ?? this.temp('rmsnorm-dw-discard', C);
    rmsnormBackward(this.batch, inputs.x, inputs.w, inputs.rstd, inputs.dy, { dx: outputs.dx, dw }, shape, {
      accumulateDx: options.accumulateDx ?? false,
      accumulateDw: outputs.dw !== null,
      rows: this.rows(C),
      subgroups: this.subgroups,
    });
  }
  ropeBackward(
    inputs: { dy: F },
    outputs: { dx: F },
    shape: AttentionShape,
    options: { base: number },
  ): void {
    const table = this.ropeTable(shape.T, shape.D, options.base);
    ropeBackward(this.batch, { dy: inputs.dy, dx: outputs.dx, table }, ropeShape(shape, options.base));
  }
  attentionBackward(
    inputs: { q: F; k: F; v: F; out: F; lse: F; dout: F },
    outputs: { dq: F; dk: F; dv: F },
    shape: AttentionShape,
  ): void {
    const delta = this.temp('attention-delta', shape.B * shape.H * shape.T);
    attentionBackward(this.batch, { ...inputs, delta, ...outputs }, shape);
  }
  lrsaAttentionBackward(
    inputs: { q: F; k: F; v: F; selected: I; out: F; lse: F; dout: F },
    outputs: { dq: F; dk: F; dv: F },
    shape: LrsaShape,
  ): void {
    const rowStats = this.temp('lrsa-row-stats', lrsaTensorSizes(shape).rowStats);
    lrsaAttentionBackward(this.batch, { ...inputs, rowStats, ...outputs }, shape);
  }
  swigluBackward(inputs: { a: F; b: F; dout: F }, outputs: { da: F; db: F }): void {
    swigluBackward(this.batch, inputs.a, inputs.b, inputs.dout, outputs.da, outputs.db);
  }
  embeddingBackward(
    inputs: { tokens: I; tokenIds: Int32Array; dout: F },
    outputs: { dtable: F },
    shape: VocabShape,
  ): void {
    const { N, V } = shape;
    this.tokenLists = buildTokenPositionLists(
      inputs.tokenIds,
      V,
      this.tokenLists?.positions.length === N && this.tokenLists.offsets.length === V + 1
        ? this.tokenLists
        : undefined,
    );
    const offsets = this.temp('embedding-offsets', V + 1, 'i32');
    const positions = this.temp('embedding-positions', N, 'i32');
    // Only this dispatch reads these lists, and queue writes land before the batch that records
    // it is submitted; a flush only where the open batch already holds an earlier reader (the
    // micro-batches of one step, recorded back to back).
    if (this.embeddingListsReader === this.batch) this.flush();
    this.embeddingListsReader = this.batch;
    writeTensor(this.ctx, offsets, this.tokenLists.offsets);
    writeTensor(this.ctx, positions, this.tokenLists.positions);
    embeddingBackward(this.batch, { offsets, positions }, inputs.dout, outputs.dtable, shape, {
      accumulate: true,
    });
  }

  // ---- biases and grouped-query attention ------------------------------------------------
  addBias(inputs: { b: F }, outputs: { y: F }, shape: RowShape): void {
    biasForward(this.batch, inputs.b, outputs.y, shape);
  }
  biasBackward(inputs: { dy: F }, outputs: { db: F }, shape: RowShape): void {
    biasBackward(this.batch, inputs.dy, outputs.db, shape);
  }
  repeatKvHeads(inputs: { x: F }, outputs: { y: F }, shape: HeadGroupShape): void {
    repeatKvForward(this.batch, inputs.x, outputs.y, shape);
  }
  repeatKvHeadsBackward(inputs: { dy: F }, outputs: { dx: F }, shape: HeadGroupShape): void {
    repeatKvBackward(this.batch, inputs.dy, outputs.dx, shape);
  }

  // ---- optimizer ----------------------------------------------------------------------
  adamw(allGroups: AdamGroup<F>[], hyper: AdamHyper, step: number): void {
    // Where each group's tensors are one range of the parameter storage (param-state.ts), the
    // group is updated (and its norm summed) as a single tensor: a dispatch per group, not per tensor.
    const spans = allGroups.map((g, i) => {
      const span = (kind: 'param' | 'grad' | 'm' | 'v') =>
        spanOf(
          this.ctx,
          g.params.map((p) => p[kind]),
          `group ${i} ${kind}`,
        );
      const param = span('param');
      const grad = span('grad');
      const m = span('m');
      const v = span('v');
      return param && grad && m && v ? { param, grad, m, v } : null;
    });
    const groups = spans.every((s) => s !== null)
      ? allGroups.map((g, i) => ({ ...g, params: [spans[i]!] }))
      : allGroups;
    // The gradients the clipping norm sums: one range of the gradient storage where the groups
    // in the norm lie next to each other (one dispatch), else tensor by tensor.
    const normed = groups.flatMap((g) => (g.excludeFromNorm ? [] : g.params.map((p) => p.grad)));
    const joint = normed.length > 1 ? spanOf(this.ctx, normed, 'gradients in the norm') : null;
    const sums = joint ? [joint] : normed;
    const key = sums.map((t) => t.length).join(',');
    if (!this.adam || this.adam.key !== key) {
      let next = 0;
      const slots = sums.map((t) => {
        const at = next;
        next += gradNormSlots(t.length);
        return at;
      });
      this.adam = {
        key,
        slots,
        total: next,
        partials: this.temp('adamw-partials', Math.max(1, next)) as F,
        norm: this.temp('adamw-norm', 2) as F,
      };
    }
    const a = this.adam;
    for (const [i, grad] of sums.entries()) gradSumSquares(this.batch, grad, a.partials, a.slots[i]);
    gradNormFinish(this.batch, a.partials, a.total, a.norm, hyper.maxGradNorm);
    for (const g of groups) {
      for (const p of g.params) {
        adamwUpdate(this.batch, p, a.norm, {
          lr: g.lr,
          weightDecay: g.weightDecay,
          beta1: hyper.beta1,
          beta2: hyper.beta2,
          eps: hyper.eps,
          step,
          useClip: !g.excludeFromNorm,
        });
      }
    }
  }
  async readGradNorm(): Promise<number> {
    if (!this.adam) throw new Error('readGradNorm: no optimizer step was recorded');
    this.flush();
    return (await readTensor(this.ctx, this.adam.norm))[0];
  }
  async readStepStats(): Promise<StepStats> {
    return this.readLossParts(true);
  }

  dispose(): void {
    this.flush();
    for (const t of this.scratch.values()) t.buffer.destroy();
    for (const t of this.ropeTables.values()) t.tensor.buffer.destroy();
    for (const b of this.stagingAll) b.destroy();
    this.scratch.clear();
  }
}
