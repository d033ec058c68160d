// The CPU backend: matmul, attention, RMSNorm, RoPE, SwiGLU and cross-entropy run the fast
// kernels of src/gpu/cpu, the rest their CPU twins from src/gpu/reference. Handles are plain typed arrays, so
// "recording" an op runs it at once.

import type { RosaMode, ScanShape } from '../../rosa-worker/layout.ts';
import { attentionBackwardFast, attentionForwardFast } from '../cpu/attention.ts';
import {
  crossEntropyFast,
  rmsnormBackwardFast,
  rmsnormForwardFast,
  ropeFast,
  swigluBackwardFast,
  swigluForwardFast,
} from '../cpu/elementwise.ts';
import { matmulFast } from '../cpu/matmul.ts';
import { adamwStepReference, type CpuParamGroup } from '../reference/adamw.ts';
import type { AttentionShape } from '../reference/attention.ts';
import { embeddingBackward, embeddingForward } from '../reference/embedding.ts';
import {
  type LrsaShape,
  lagkvSelectReference,
  lrsaAttentionBackwardReference,
  lrsaAttentionForwardReference,
} from '../reference/lrsa.ts';
import {
  type RosaDims,
  rosaInjectionBackwardReference,
  rosaInjectionForwardReference,
  rosaSignPackReference,
} from '../reference/rosa.ts';
import type {
  AdamGroup,
  AdamHyper,
  Backend,
  LossStats,
  RosaBackwardOptions,
  RosaScanner,
  ScanResult,
  ScanTiming,
} from './backend.ts';

type F = Float32Array;
type I = Int32Array;

function ropeShape(shape: AttentionShape, base: number) {
  return { B: shape.B, T: shape.T, H: shape.H, D: shape.D, base };
}

export class CpuBackend implements Backend<F, I> {
  readonly kind = 'cpu' as const;
  private bytes = 0;
  private loss: LossStats = { meanLoss: 0, count: 0, correctCount: 0, accuracy: 0 };
  private gradNorm = 0;

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

  embedding(tokens: I, table: F, out: F, N: number, C: number, V: number): void {
    out.set(embeddingForward(tokens, table, N, C, V));
  }
  rmsnorm(x: F, w: F, y: F, rstd: F, N: number, C: number, eps: number): void {
    rmsnormForwardFast(x, w, y, rstd, N, C, eps);
  }
  linear(x: F, w: F, y: F, rows: number, inDim: number, outDim: number, accumulate = false): void {
    matmulFast(x, w, y, { M: rows, N: outDim, K: inDim, transB: true }, accumulate);
  }
  rope(x: F, out: F, shape: AttentionShape, base: number): void {
    ropeFast(x, out, ropeShape(shape, base), 1);
  }
  attention(q: F, k: F, v: F, out: F, lse: F, shape: AttentionShape): void {
    attentionForwardFast(q, k, v, out, lse, shape);
  }
  lrsaSelect(k: F, v: F, selected: I, shape: LrsaShape, scoreVRatio: number): void {
    selected.set(lagkvSelectReference(k, v, shape, { scoreVRatio }).selected);
  }
  lrsaAttention(q: F, k: F, v: F, selected: I, out: F, lse: F, shape: LrsaShape): void {
    const r = lrsaAttentionForwardReference(q, k, v, selected, shape);
    out.set(r.out);
    lse.set(r.lse);
  }
  swiglu(a: F, b: F, out: F): void {
    swigluForwardFast(a, b, out);
  }
  add(a: F, b: F, out: F): void {
    for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
  }
  axpy(x: F, y: F, alpha = 1): void {
    for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
  }
  crossEntropy(logits: F, labels: I, dlogits: F | null, N: number, V: number): void {
    this.loss = crossEntropyFast(logits, labels, dlogits, N, V);
  }
  async readLoss(): Promise<LossStats> {
    return this.loss;
  }

  async rosaScan(
    q: F,
    k: F,
    dims: RosaDims,
    mode: RosaMode,
    scanner: RosaScanner,
    reuse?: ScanResult<I>,
  ): Promise<ScanResult<I> & ScanTiming> {
    const shape: ScanShape = { lanes: dims.B * (dims.C / dims.bits), T: dims.T, bits: dims.bits };
    const qSym = rosaSignPackReference(q, dims);
    const kSym = rosaSignPackReference(k, dims);
    const host = reuse?.host ?? scanner.allocateOutputs(shape);
    if (!reuse) for (const a of Object.values(host)) this.bytes += a.length * 4;
    const scanStart = performance.now();
    await scanner.scan(mode, shape, qSym, kSym, host);
    const scanEnd = performance.now();
    return { ...host, host, scanStart, scanEnd };
  }
  rosaInject(v: F, e0: F, e1: F, scan: ScanResult<I>, y: F, dims: RosaDims): void {
    y.set(rosaInjectionForwardReference(v, e0, e1, scan.dest, dims));
  }
  rosaBackward(
    args: { q: F; k: F; v: F; e0: F; e1: F; gradY: F; scan: ScanResult<I> },
    out: { gradQ: F; gradK: F; gradV: F; gradE0: F; gradE1: F },
    dims: RosaDims,
    options: RosaBackwardOptions,
  ): void {
    const g = rosaInjectionBackwardReference({
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
    });
    out.gradQ.set(g.gradQ);
    out.gradK.set(g.gradK);
    out.gradV.set(g.gradV);
    this.axpy(g.gradE0, out.gradE0);
    this.axpy(g.gradE1, out.gradE1);
  }

  linearBackward(
    x: F,
    w: F,
    dy: F,
    dx: F | null,
    dw: F | null,
    rows: number,
    inDim: number,
    outDim: number,
    accumulateDx = false,
  ): void {
    if (dx) matmulFast(dy, w, dx, { M: rows, N: inDim, K: outDim }, accumulateDx);
    if (dw) matmulFast(dy, x, dw, { M: outDim, N: inDim, K: rows, transA: true }, true);
  }
  rmsnormBackward(
    x: F,
    w: F,
    rstd: F,
    dy: F,
    dx: F,
    dw: F | null,
    N: number,
    C: number,
    accumulateDx = false,
  ): void {
    rmsnormBackwardFast(x, w, rstd, dy, dx, dw, N, C, accumulateDx);
  }
  ropeBackward(dy: F, dx: F, shape: AttentionShape, base: number): void {
    ropeFast(dy, dx, ropeShape(shape, base), -1);
  }
  attentionBackward(
    q: F,
    k: F,
    v: F,
    out: F,
    lse: F,
    dout: F,
    dq: F,
    dk: F,
    dv: F,
    shape: AttentionShape,
  ): void {
    attentionBackwardFast(q, k, v, out, lse, dout, dq, dk, dv, shape);
  }
  lrsaAttentionBackward(
    q: F,
    k: F,
    v: F,
    selected: I,
    out: F,
    lse: F,
    dout: F,
    dq: F,
    dk: F,
    dv: F,
    shape: LrsaShape,
  ): void {
    const r = lrsaAttentionBackwardReference(q, k, v, selected, out, lse, dout, shape);
    dq.set(r.dq);
    dk.set(r.dk);
    dv.set(r.dv);
  }
  swigluBackward(a: F, b: F, dout: F, da: F, db: F): void {
    swigluBackwardFast(a, b, dout, da, db);
  }
  embeddingBackward(
    tokens: I,
    _tokenIds: Int32Array,
    dout: F,
    dtable: F,
    N: number,
    C: number,
    V: number,
  ): void {
    embeddingBackward(tokens, dout, N, C, V, dtable);
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
