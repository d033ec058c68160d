// The decoder, written once against the Backend op list (backend.ts):
//   h0 = E[tokens]
//   per layer l:  u = RMSNorm(h);  attn = Wo · Attention(RoPE(Wq u), RoPE(Wk u), Wv u)
//                 (heads of D channels: q, k, v and the attention output are heads · D wide,
//                 which is the width C unless model.headDim sets D, as Qwen3 does)
//                 (the Llama/Qwen options: q/k/v biases, q/k RMSNorm per head before RoPE,
//                 k and v on fewer heads, widened to every query head before the attention)
//                 [ROSA layers] y = inject(scan(sign(rWq u), sign(rWk u)), rWv u);  inj = W_out y
//                 (the adapter's own C-wide projections of u, not the attention's q/k/v)
//                 h ← h + attn + inj;  h ← h + W2 (silu(W1 RMSNorm(h)) ⊙ W3 RMSNorm(h))
//   logits = RMSNorm(h_L) · Eᵀ (tied head; or a separate lm_head), cross-entropy over labelled positions.
// In a ROSA layer the q/k symbols go to the CPU scan before the attention is recorded and
// submitted, so the scan runs while the GPU computes attention (docs/design.md, steps 2–4).

import type { AttentionShape } from '../reference/attention.ts';
import { type LrsaShape, lagkvKeepCount, lrsaChunkCounts } from '../reference/lrsa.ts';
import type { RosaDims } from '../reference/rosa.ts';
import type { StepTiming } from '../train/protocol.ts';
import type {
  AdamGroup,
  AdamHyper,
  Backend,
  LossStats,
  RosaScanner,
  ScanResult,
  Sized,
  StepStats,
} from './backend.ts';
import {
  attentionKind,
  attentionWidth,
  headDim,
  kvHeadCount,
  type ModelConfig,
  rosaLayers,
} from './config.ts';
import { IdleClock, type MicroBatch, splitBatch } from './micro-batches.ts';
import { allocateParamStorage, OPTIMIZER_GROUPS, type ParamState } from './param-state.ts';
import {
  EMBEDDING,
  FINAL_NORM,
  type LayerParamNames,
  LM_HEAD,
  layerParamNames,
  parameterSpecs,
} from './params.ts';

export type { ParamState } from './param-state.ts';

interface LayerActs<F, I> {
  h: F; // input of the layer (residual stream)
  u: F;
  rstd1: F;
  q: F; // [N, heads·D], after RoPE
  k: F; // after RoPE (and widened to every query head)
  v: F; // widened to every query head
  /** q and k before their per-head RMSNorm, and its rstd (config.qkNorm). */
  qkNorm: null | { q: F; k: F; rstdQ: F; rstdK: F };
  o: F;
  lse: F;
  selected: I | null;
  hmid: F;
  u2: F;
  rstd2: F;
  a: F;
  b: F;
  g: F;
  rosa: null | { rq: F; rk: F; rv: F; y: F; scan: ScanResult<I> | null };
}

interface Activations<F, I> {
  B: number;
  T: number;
  tokens: I;
  tokenIds: Int32Array;
  labels: I;
  layers: LayerActs<F, I>[];
  hFinal: F; // h_L
  hf: F; // RMSNorm(h_L)
  rstdF: F;
  logits: F;
  // scratch for the step
  tmp: F; // [N, C]
  tmp2: F; // [N, C]
  // [N, kvHeads·D] scratch for k and v before they are widened (grouped-query attention only)
  kv: null | { a: F; b: F };
  // [N, heads·D] scratch when that is not C (model.headDim); else tmp and tmp2 serve
  attnTmp: null | { a: F; b: F };
}

interface Grads<F> {
  dlogits: F;
  dh: F;
  dhf: F;
  du: F;
  du2: F;
  dNC1: F;
  dNC2: F;
  dq: F;
  dk: F;
  dv: F;
  dNF1: F;
  dNF2: F;
  dNF3: F;
  // [N, kvHeads·D] (grouped-query attention only)
  dkv: null | { a: F; b: F };
  // The attention's gradients [N, heads·D] when that is not C (model.headDim); else dq, dk,
  // dv, dNC1 and dNC2 serve, as they do for ROSA's (which are [N, C] always).
  attn: null | AttentionGrads<F>;
}

/** Gradients of the attention part of a layer, [N, heads·D] each. */
interface AttentionGrads<F> {
  dq: F;
  dk: F;
  dv: F;
  /** The attention output's gradient, then RoPE's backward of dq. */
  d1: F;
  /** RoPE's backward of dk (without grouped-query attention). */
  d2: F;
}

/** One micro-batch's activations and gradient scratch (allocGroup wholes freed with them). */
interface Slot<F, I> {
  acts: Activations<F, I> | null;
  grads: Grads<F> | null;
  actWholes: F[];
  gradWholes: F[];
}

export interface ForwardTiming {
  forward: number;
  scan: number;
  waiting: number;
  overlap: number;
}

export interface ForwardResult {
  loss: LossStats;
  timing: ForwardTiming;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class Model<F extends Sized, I extends Sized> {
  readonly config: ModelConfig;
  readonly backend: Backend<F, I>;
  readonly params: Map<string, ParamState<F>>;
  /** All gradients as one tensor where the backend sliced them from one buffer, else null. */
  private readonly allGrads: F | null;
  private readonly paramWholes: F[];
  private readonly names: LayerParamNames[];
  /** One slot per micro-batch of the last forward pass (one when the batch was not split). */
  private slots: Slot<F, I>[] = [];
  /** Micro-batches of the last forward pass; backward() goes over all of them. */
  private lastParts = 1;
  private readonly rosaLayerSet: Set<number>;

  constructor(backend: Backend<F, I>, config: ModelConfig, initial: Map<string, Float32Array>) {
    this.backend = backend;
    this.config = config;
    this.names = Array.from({ length: config.layers }, (_, l) => layerParamNames(config, l));
    this.rosaLayerSet = new Set(rosaLayers(config));
    const specs = parameterSpecs(config);
    for (const spec of specs) {
      const data = initial.get(spec.name);
      const n = product(spec.shape);
      if (!data || data.length !== n) {
        throw new Error(`parameter "${spec.name}": expected ${n} values, got ${data ? data.length : 'none'}`);
      }
    }
    const storage = allocateParamStorage(backend, specs, initial);
    this.params = storage.states;
    this.allGrads = storage.allGrads;
    this.paramWholes = storage.wholes;
  }

  private p(name: string): F {
    const s = this.params.get(name);
    if (!s) throw new Error(`no parameter "${name}"`);
    return s.param;
  }
  private gr(name: string): F {
    return this.params.get(name)!.grad;
  }

  /** Grouped-query attention: fewer key/value heads than query heads. */
  private get grouped(): boolean {
    return kvHeadCount(this.config) !== this.config.heads;
  }
  /** Width of the k and v projections: kvHeads · D. */
  private get kvDim(): number {
    return kvHeadCount(this.config) * headDim(this.config);
  }
  /** Width of q and of the attention output: heads · D. */
  private get attnDim(): number {
    return attentionWidth(this.config);
  }
  /** [N, heads·D] scratch: the separate pair, or tmp and tmp2 when heads · D = C. */
  private attnScratch(acts: Activations<F, I>): { a: F; b: F } {
    return acts.attnTmp ?? { a: acts.tmp, b: acts.tmp2 };
  }
  private attnGrads(g: Grads<F>): AttentionGrads<F> {
    return g.attn ?? { dq: g.dq, dk: g.dk, dv: g.dv, d1: g.dNC1, d2: g.dNC2 };
  }
  /**
   * q, k, v as one projection (one strided group of weights and outputs) and one RoPE: when
   * they have the same shape and nothing comes between the projection and RoPE.
   */
  private get fusedQkv(): boolean {
    const n = this.names[0];
    // And heads · D = C: the group's layout is the width's (headDim set otherwise).
    return !this.grouped && !n?.qkNorm && !n?.bias && this.attnDim === this.config.width;
  }
  /**
   * `names.length` tensors of `length` laid out one after another in one allocation where the
   * backend can slice (so linearShared and ropeMany take them in one dispatch), else apart.
   */
  private allocGroup(length: number, names: readonly string[], wholes: F[]): F[] {
    const be = this.backend;
    const sliced = be.allocSlices?.(
      names.map(() => length),
      names.join('+'),
      names,
    );
    if (!sliced) return names.map((name) => be.alloc(length, name));
    wholes.push(sliced.whole);
    return sliced.slices;
  }
  /** The output head: the embedding (tied) or lm_head. */
  private get head(): string {
    return this.config.tiedHead ? EMBEDDING : LM_HEAD;
  }

  get parameterCount(): number {
    let n = 0;
    for (const s of this.params.values()) n += product(s.spec.shape);
    return n;
  }

  /**
   * The last forward pass's activations, for the readers below (logits, scans, attention
   * inputs); null after a pass split into micro-batches, which no reader asks about.
   */
  private get acts(): Activations<F, I> | null {
    return this.lastParts === 1 ? (this.slots[0]?.acts ?? null) : null;
  }

  private slot(index: number): Slot<F, I> {
    while (this.slots.length <= index)
      this.slots.push({ acts: null, grads: null, actWholes: [], gradWholes: [] });
    return this.slots[index];
  }

  /** Frees the slots from `first` on (a batch split into fewer parts than before). */
  private releaseSlotsFrom(first: number): void {
    for (const s of this.slots.slice(first)) {
      this.releaseActivations(s);
      this.releaseGradients(s);
    }
    this.slots.length = Math.min(this.slots.length, first);
  }

  /** Activations of one slot for batches of B × T; reused while the shape stays the same. */
  private activations(B: number, T: number, index: number): Activations<F, I> {
    const slot = this.slot(index);
    if (slot.acts && slot.acts.B === B && slot.acts.T === T) return slot.acts;
    this.releaseActivations(slot);
    const wholes = slot.actWholes;
    const be = this.backend;
    const { width: C, mlpHidden: Fh, vocabSize: V, heads: H } = this.config;
    const N = B * T;
    const Hkv = kvHeadCount(this.config);
    const kvWidth = N * Hkv * headDim(this.config);
    const A = this.attnDim;
    const layers: LayerActs<F, I>[] = [];
    for (let l = 0; l < this.config.layers; l++) {
      const kind = attentionKind(this.config, l);
      const lrsa = kind === 'lrsa' ? this.lrsaShape(B, T) : null;
      const selectedLength = lrsa ? Math.max(1, B * H * lrsaChunkCounts(lrsa).scoredChunks * lrsa.keep) : 0;
      const qkvNames = [`L${l}.q`, `L${l}.k`, `L${l}.v`];
      const [q, k, v] = this.fusedQkv
        ? this.allocGroup(N * A, qkvNames, wholes)
        : qkvNames.map((name) => be.alloc(N * A, name));
      const [a, b] = this.allocGroup(N * Fh, [`L${l}.a`, `L${l}.b`], wholes);
      layers.push({
        h: be.alloc(N * C, `L${l}.h`),
        u: be.alloc(N * C, `L${l}.u`),
        rstd1: be.alloc(N, `L${l}.rstd1`),
        q,
        k,
        v,
        qkNorm: this.config.qkNorm
          ? {
              q: be.alloc(N * A, `L${l}.qPre`),
              k: be.alloc(kvWidth, `L${l}.kPre`),
              rstdQ: be.alloc(N * H, `L${l}.rstdQ`),
              rstdK: be.alloc(N * Hkv, `L${l}.rstdK`),
            }
          : null,
        o: be.alloc(N * A, `L${l}.o`),
        lse: be.alloc(B * H * T, `L${l}.lse`),
        selected: lrsa ? be.allocInt(selectedLength, `L${l}.selected`) : null,
        hmid: be.alloc(N * C, `L${l}.hmid`),
        u2: be.alloc(N * C, `L${l}.u2`),
        rstd2: be.alloc(N, `L${l}.rstd2`),
        a,
        b,
        g: be.alloc(N * Fh, `L${l}.g`),
        rosa: this.rosaLayerSet.has(l) ? this.rosaActivations(l, N * C, wholes) : null,
      });
    }
    slot.acts = {
      B,
      T,
      tokens: be.allocInt(N, 'tokens'),
      tokenIds: new Int32Array(N),
      labels: be.allocInt(N, 'labels'),
      layers,
      hFinal: be.alloc(N * C, 'hFinal'),
      hf: be.alloc(N * C, 'hf'),
      rstdF: be.alloc(N, 'rstdF'),
      logits: be.alloc(N * V, 'logits'),
      tmp: be.alloc(N * C, 'tmp'),
      tmp2: be.alloc(N * C, 'tmp2'),
      kv: this.grouped ? { a: be.alloc(kvWidth, 'kvA'), b: be.alloc(kvWidth, 'kvB') } : null,
      attnTmp: A !== C ? { a: be.alloc(N * A, 'attnTmpA'), b: be.alloc(N * A, 'attnTmpB') } : null,
    };
    return slot.acts;
  }

  /** A ROSA layer's projections (a strided group, for linearShared) and injection output. */
  private rosaActivations(l: number, length: number, wholes: F[]): NonNullable<LayerActs<F, I>['rosa']> {
    const [rq, rk, rv] = this.allocGroup(length, [`L${l}.rq`, `L${l}.rk`, `L${l}.rv`], wholes);
    return { rq, rk, rv, y: this.backend.alloc(length, `L${l}.y`), scan: null };
  }

  private gradients(B: number, T: number, index: number): Grads<F> {
    const N = B * T;
    const slot = this.slot(index);
    if (slot.grads && slot.grads.dh.length === N * this.config.width) return slot.grads;
    this.releaseGradients(slot);
    const wholes = slot.gradWholes;
    const be = this.backend;
    const { width: C, mlpHidden: Fh, vocabSize: V } = this.config;
    // dq, dk, dv and the two MLP branches as strided groups (linearSharedBackward).
    const [dq, dk, dv] = this.allocGroup(N * C, ['dq', 'dk', 'dv'], wholes);
    const [dNF2, dNF3] = this.allocGroup(N * Fh, ['dNF2', 'dNF3'], wholes);
    slot.grads = {
      dlogits: be.alloc(N * V, 'dlogits'),
      dh: be.alloc(N * C, 'dh'),
      dhf: be.alloc(N * C, 'dhf'),
      du: be.alloc(N * C, 'du'),
      du2: be.alloc(N * C, 'du2'),
      dNC1: be.alloc(N * C, 'dNC1'),
      dNC2: be.alloc(N * C, 'dNC2'),
      dq,
      dk,
      dv,
      dNF1: be.alloc(N * Fh, 'dNF1'),
      dNF2,
      dNF3,
      dkv: this.grouped ? { a: be.alloc(N * this.kvDim, 'dkvA'), b: be.alloc(N * this.kvDim, 'dkvB') } : null,
      attn: this.attnDim !== C ? this.allocAttentionGrads(N * this.attnDim) : null,
    };
    return slot.grads;
  }

  private allocAttentionGrads(n: number): AttentionGrads<F> {
    const be = this.backend;
    return {
      dq: be.alloc(n, 'attnDq'),
      dk: be.alloc(n, 'attnDk'),
      dv: be.alloc(n, 'attnDv'),
      d1: be.alloc(n, 'attnD1'),
      d2: be.alloc(n, 'attnD2'),
    };
  }

  private releaseActivations(slot: Slot<F, I>): void {
    const a = slot.acts;
    if (!a) return;
    const be = this.backend;
    be.free(a.tokens, a.labels, a.hFinal, a.hf, a.rstdF, a.logits, a.tmp, a.tmp2);
    if (a.kv) be.free(a.kv.a, a.kv.b);
    if (a.attnTmp) be.free(a.attnTmp.a, a.attnTmp.b);
    for (const l of a.layers) {
      be.free(l.h, l.u, l.rstd1, l.q, l.k, l.v, l.o, l.lse, l.hmid, l.u2, l.rstd2, l.a, l.b, l.g);
      if (l.qkNorm) be.free(l.qkNorm.q, l.qkNorm.k, l.qkNorm.rstdQ, l.qkNorm.rstdK);
      if (l.selected) be.free(l.selected);
      if (l.rosa) {
        be.free(l.rosa.rq, l.rosa.rk, l.rosa.rv, l.rosa.y);
        const s = l.rosa.scan;
        if (s) {
          be.free(s.dest, s.qRunId, s.rcf, s.kRunStart, s.destInvOffsets, s.destInvPositions, s.cfInvOffsets);
          be.free(s.cfInvPositions);
        }
      }
    }
    be.free(...slot.actWholes);
    slot.actWholes = [];
    slot.acts = null;
  }

  private releaseGradients(slot: Slot<F, I>): void {
    if (!slot.grads) return;
    const { dkv, attn, ...rest } = slot.grads;
    this.backend.free(...Object.values(rest));
    if (dkv) this.backend.free(dkv.a, dkv.b);
    if (attn) this.backend.free(...Object.values(attn));
    this.backend.free(...slot.gradWholes);
    slot.gradWholes = [];
    slot.grads = null;
  }

  private attentionShape(B: number, T: number, kind: 'global' | 'window'): AttentionShape {
    const { heads: H, window } = this.config;
    return {
      B,
      T,
      H,
      D: headDim(this.config),
      window: kind === 'global' ? Math.max(T, 1) : Math.min(window, Math.max(T, 1)),
    };
  }

  private lrsaShape(B: number, T: number): LrsaShape {
    const { heads: H, lrsa } = this.config;
    return {
      batch: B,
      seqLen: T,
      heads: H,
      headDim: headDim(this.config),
      sink: lrsa.sink,
      chunk: lrsa.chunk,
      keep: lagkvKeepCount(lrsa.chunk, lrsa.ratio),
    };
  }

  private rosaDims(B: number, T: number): RosaDims {
    return { B, T, C: this.config.width, bits: this.config.rosa.bits };
  }

  /**
   * Runs the forward pass over `tokens` ([B, T]); with `labels`, also the loss (and, when
   * `withGrad`, the gradient of the mean loss w.r.t. the logits, for backward()). With
   * `deferLoss` the loss is neither submitted nor read (result.loss is all zeros): a training
   * step records backward and the optimizer behind it and reads both with readStepStats().
   * With `microBatches` n > 1 the batch is split into n parts whose passes interleave (each
   * part's layers are recorded while another part's scan runs) and backward() accumulates them.
   */
  async forward(
    tokens: Int32Array,
    labels: Int32Array | null,
    B: number,
    T: number,
    scanner: RosaScanner | null,
    withGrad = false,
    options: { deferLoss?: boolean; microBatches?: number } = {},
  ): Promise<ForwardResult> {
    const be = this.backend;
    const N = B * T;
    if (tokens.length !== N) throw new Error(`forward: ${tokens.length} tokens for B = ${B}, T = ${T}`);
    if (labels && labels.length !== N)
      throw new Error(`forward: ${labels.length} labels for B = ${B}, T = ${T}`);
    const parts = splitBatch(tokens, labels, B, T, options.microBatches ?? 1);
    this.releaseSlotsFrom(parts.length);
    this.lastParts = parts.length;
    const timing: ForwardTiming = { forward: 0, scan: 0, waiting: 0, overlap: 0 };
    const clock = new IdleClock(parts.length);
    const t0 = performance.now();
    // Every part's tokens and labels go up before anything is recorded (a write mid-pass would submit).
    parts.forEach((part, index) => {
      const acts = this.activations(B / parts.length, T, index);
      acts.tokenIds.set(part.tokens);
      be.writeInts(acts.tokens, part.tokens);
      if (part.labels) be.writeInts(acts.labels, part.labels);
    });
    await Promise.all(
      parts.map((part, index) =>
        this.forwardPart(part, B / parts.length, T, scanner, withGrad, index, clock, timing),
      ),
    );
    timing.waiting = clock.total;
    let loss: LossStats = { meanLoss: 0, count: 0, correctCount: 0, accuracy: 0 };
    if (!labels) {
      await be.finish();
    } else if (!options.deferLoss) {
      be.flush();
      loss = await be.readLoss();
    }
    timing.forward = performance.now() - t0 - timing.waiting;
    return { loss, timing };
  }

  /** One micro-batch's pass (the whole batch when it is not split) in activation slot `index`. */
  private async forwardPart(
    part: MicroBatch,
    B: number,
    T: number,
    scanner: RosaScanner | null,
    withGrad: boolean,
    index: number,
    clock: IdleClock,
    timing: ForwardTiming,
  ): Promise<void> {
    const be = this.backend;
    const cfg = this.config;
    const { width: C, mlpHidden: Fh, vocabSize: V } = cfg;
    const N = B * T;
    const acts = this.activations(B, T, index);

    // The shapes this pass uses: N rows of width C; the square, up and down projections.
    const rows = { N, C };
    const square = { rows: N, inDim: C, outDim: C };
    const up = { rows: N, inDim: C, outDim: Fh };
    const down = { rows: N, inDim: Fh, outDim: C };
    const norm = { eps: cfg.normEps };
    be.embedding({ tokens: acts.tokens, table: this.p(EMBEDDING) }, { out: acts.layers[0].h }, { N, C, V });
    for (let l = 0; l < cfg.layers; l++) {
      const L = acts.layers[l];
      const n = this.names[l];
      const next = l + 1 < cfg.layers ? acts.layers[l + 1].h : acts.hFinal;
      be.rmsnorm({ x: L.h, w: this.p(n.attnNorm) }, { y: L.u, rstd: L.rstd1 }, rows, norm);

      // ROSA first: its symbols leave for the CPU before the attention is submitted.
      let scanPromise: ReturnType<Backend<F, I>['rosaScan']> | null = null;
      if (L.rosa && n.rosa) {
        if (!scanner) throw new Error('forward: this model has ROSA layers but no scanner was given');
        const ws = [this.p(n.rosa.wq), this.p(n.rosa.wk), this.p(n.rosa.wv)];
        be.linearShared({ x: L.u, ws }, { ys: [L.rosa.rq, L.rosa.rk, L.rosa.rv] }, square);
        scanPromise = be.rosaScan({ q: L.rosa.rq, k: L.rosa.rk }, this.rosaDims(B, T), {
          mode: cfg.rosa.semantics,
          scanner,
          reuse: L.rosa.scan ?? undefined,
        });
      }

      const attnStart = performance.now();
      const kind = attentionKind(cfg, l);
      const ashape = this.attentionShape(B, T, kind === 'lrsa' ? 'global' : kind);
      this.projectQkv(L, n, acts, ashape);
      if (kind === 'lrsa') {
        const lshape = this.lrsaShape(B, T);
        be.lrsaSelect({ k: L.k, v: L.v }, { selected: L.selected! }, lshape, {
          scoreVRatio: cfg.lrsa.scoreVRatio,
        });
        be.lrsaAttention({ q: L.q, k: L.k, v: L.v, selected: L.selected! }, { out: L.o, lse: L.lse }, lshape);
      } else {
        be.attention({ q: L.q, k: L.k, v: L.v }, { out: L.o, lse: L.lse }, ashape);
      }
      // The residual stream is added as the output projection stores (one dispatch, not two).
      be.linear(
        { x: L.o, w: this.p(n.wo) },
        { y: L.hmid },
        { rows: N, inDim: this.attnDim, outDim: C },
        { residual: L.h },
      );

      if (scanPromise && L.rosa && n.rosa) {
        // The attention runs on the GPU while the CPU scans; on the CPU backend it has just run
        // on this thread while the pool's workers scanned (the pool posts its jobs at the call).
        be.flush();
        const scan = await clock.wait(scanPromise);
        L.rosa.scan = scan;
        timing.scan += scan.scanEnd - scan.scanStart;
        // Scan time after the attention was submitted: an upper bound on the overlap (waiting
        // for the attention to end only to time it would cost a GPU sync point per layer).
        timing.overlap += Math.max(0, scan.scanEnd - Math.max(scan.scanStart, attnStart));
        be.rosaInject(
          { v: L.rosa.rv, e0: this.p(n.rosa.e0), e1: this.p(n.rosa.e1), scan },
          { y: L.rosa.y },
          this.rosaDims(B, T),
        );
        be.linear({ x: L.rosa.y, w: this.p(n.rosa.wout) }, { y: L.hmid }, square, { accumulate: true });
      }

      be.rmsnorm({ x: L.hmid, w: this.p(n.mlpNorm) }, { y: L.u2, rstd: L.rstd2 }, rows, norm);
      be.linearShared({ x: L.u2, ws: [this.p(n.w1), this.p(n.w3)] }, { ys: [L.a, L.b] }, up);
      be.swiglu({ a: L.a, b: L.b }, { out: L.g });
      be.linear({ x: L.g, w: this.p(n.w2) }, { y: next }, down, { residual: L.hmid });
    }
    be.rmsnorm({ x: acts.hFinal, w: this.p(FINAL_NORM) }, { y: acts.hf, rstd: acts.rstdF }, rows, norm);
    be.linear({ x: acts.hf, w: this.p(this.head) }, { y: acts.logits }, { rows: N, inDim: C, outDim: V });
    if (part.labels) {
      const grads = withGrad ? this.gradients(B, T, index) : null;
      be.crossEntropy(
        { logits: acts.logits, labels: acts.labels },
        { dlogits: grads ? grads.dlogits : null },
        { N, V },
        part.loss,
      );
    }
    clock.done();
  }

  /**
   * Back-propagates the loss of the last forward(…, withGrad = true) into the parameter
   * gradients: zeroed, then each micro-batch's added in order (the same order every step).
   */
  backward(): void {
    const slots = this.slots.slice(0, this.lastParts);
    if (slots.length === 0 || slots.some((s) => !s.acts || !s.grads)) {
      throw new Error('backward: call forward with withGrad = true first');
    }
    const be = this.backend;
    if (this.allGrads) be.zero(this.allGrads);
    else for (const s of this.params.values()) be.zero(s.grad);
    for (const slot of slots) this.backwardPart(slot.acts!, slot.grads!);
  }

  private backwardPart(acts: Activations<F, I>, g: Grads<F>): void {
    const be = this.backend;
    const cfg = this.config;
    const { B, T } = acts;
    const N = B * T;
    const { width: C, mlpHidden: Fh, vocabSize: V } = cfg;
    // The same shapes as in forward(); accumulate where a gradient has several sources.
    const rows = { N, C };
    const square = { rows: N, inDim: C, outDim: C };
    const up = { rows: N, inDim: C, outDim: Fh };
    const down = { rows: N, inDim: Fh, outDim: C };
    const accumulate = { accumulateDx: true };

    // logits = hf · Eᵀ (tied head) or hf · lm_headᵀ.
    be.linearBackward(
      { x: acts.hf, w: this.p(this.head), dy: g.dlogits },
      { dx: g.dhf, dw: this.gr(this.head) },
      { rows: N, inDim: C, outDim: V },
    );
    be.rmsnormBackward(
      { x: acts.hFinal, w: this.p(FINAL_NORM), rstd: acts.rstdF, dy: g.dhf },
      { dx: g.dh, dw: this.gr(FINAL_NORM) },
      rows,
    );

    for (let l = cfg.layers - 1; l >= 0; l--) {
      const L = acts.layers[l];
      const n = this.names[l];
      // MLP: h_out = hmid + W2 g, g = swiglu(W1 u2, W3 u2), u2 = RMSNorm(hmid).
      be.linearBackward({ x: L.g, w: this.p(n.w2), dy: g.dh }, { dx: g.dNF1, dw: this.gr(n.w2) }, down);
      be.swigluBackward({ a: L.a, b: L.b, dout: g.dNF1 }, { da: g.dNF2, db: g.dNF3 });
      be.linearSharedBackward(
        { x: L.u2, ws: [this.p(n.w1), this.p(n.w3)], dys: [g.dNF2, g.dNF3] },
        { dx: g.du2, dws: [this.gr(n.w1), this.gr(n.w3)] },
        up,
      );
      // dhmid = dh + RMSNorm backward of du2, accumulated into dh in place (dh is not needed
      // after this; a separate buffer cost a clear and a copy per layer).
      be.rmsnormBackward(
        { x: L.hmid, w: this.p(n.mlpNorm), rstd: L.rstd2, dy: g.du2 },
        { dx: g.dh, dw: this.gr(n.mlpNorm) },
        rows,
        accumulate,
      );

      // Attention (+ ROSA): hmid = h + Wo o (+ W_out y); dh holds dhmid here.
      const ag = this.attnGrads(g);
      be.linearBackward(
        { x: L.o, w: this.p(n.wo), dy: g.dh },
        { dx: ag.d1, dw: this.gr(n.wo) },
        { rows: N, inDim: this.attnDim, outDim: C },
      );
      const kind = attentionKind(cfg, l);
      const dqkv = { dq: ag.dq, dk: ag.dk, dv: ag.dv };
      if (kind === 'lrsa') {
        be.lrsaAttentionBackward(
          { q: L.q, k: L.k, v: L.v, selected: L.selected!, out: L.o, lse: L.lse, dout: ag.d1 },
          dqkv,
          this.lrsaShape(B, T),
        );
      } else {
        be.attentionBackward(
          { q: L.q, k: L.k, v: L.v, out: L.o, lse: L.lse, dout: ag.d1 },
          dqkv,
          this.attentionShape(B, T, kind),
        );
      }
      this.projectQkvBackward(L, n, g, this.attentionShape(B, T, 'global'));

      if (L.rosa && n.rosa && L.rosa.scan) {
        const r = L.rosa;
        const rn = n.rosa;
        be.linearBackward(
          { x: r.y, w: this.p(rn.wout), dy: g.dh },
          { dx: g.dNC1, dw: this.gr(rn.wout) },
          square,
        );
        be.rosaBackward(
          { q: r.rq, k: r.rk, v: r.rv, e0: this.p(rn.e0), e1: this.p(rn.e1), gradY: g.dNC1, scan: r.scan! },
          { gradQ: g.dq, gradK: g.dk, gradV: g.dv, gradE0: this.gr(rn.e0), gradE1: this.gr(rn.e1) },
          this.rosaDims(B, T),
          {
            tempQ: cfg.rosa.tempQ,
            tempK: cfg.rosa.tempK,
            tempV: cfg.rosa.tempV,
            vProb: cfg.rosa.vProbContrast,
          },
        );
        // Wq, Wk, Wv (one matrix for shared q/k: both gradients accumulate into it; the
        // backend then takes them one by one, as they are not three matrices at one stride).
        const ws = [rn.wq, rn.wk, rn.wv];
        be.linearSharedBackward(
          { x: L.u, ws: ws.map((w) => this.p(w)), dys: [g.dq, g.dk, g.dv] },
          { dx: g.du, dws: ws.map((w) => this.gr(w)) },
          square,
          accumulate,
        );
      }

      // dh (input of the layer) = dhmid + RMSNorm backward of du, again in place.
      be.rmsnormBackward(
        { x: L.h, w: this.p(n.attnNorm), rstd: L.rstd1, dy: g.du },
        { dx: g.dh, dw: this.gr(n.attnNorm) },
        rows,
        accumulate,
      );
    }
    be.embeddingBackward(
      { tokens: acts.tokens, tokenIds: acts.tokenIds, dout: g.dh },
      { dtable: this.gr(EMBEDDING) },
      { N, C, V },
    );
  }

  /** The sizes projectQkv and its backward share: rows, widths, head counts, RoPE and GQA shapes. */
  private qkvShapes(ashape: AttentionShape) {
    const cfg = this.config;
    const N = ashape.B * ashape.T;
    const Hkv = kvHeadCount(cfg);
    const D = headDim(cfg);
    return {
      N,
      C: cfg.width,
      H: cfg.heads,
      Hkv,
      D,
      A: this.attnDim,
      kvDim: this.kvDim,
      rope: { base: cfg.ropeBase },
      kvShape: { ...ashape, H: Hkv },
      groups: { N, heads: cfg.heads, kvHeads: Hkv, D },
    };
  }

  /**
   * L.q, L.k, L.v from L.u: the projections (+ biases), the per-head q/k RMSNorm, RoPE, and
   * with grouped-query attention k and v widened to every query head. Uses the attention
   * scratch (tmp and tmp2 when heads · D = C) and kv.
   */
  private projectQkv(
    L: LayerActs<F, I>,
    n: LayerParamNames,
    acts: Activations<F, I>,
    ashape: AttentionShape,
  ): void {
    const be = this.backend;
    const { N, C, H, Hkv, D, A, kvDim, rope, kvShape, groups } = this.qkvShapes(ashape);
    const norm = { eps: this.config.normEps };
    const qk = L.qkNorm;
    const qkw = n.qkNorm;
    if (this.fusedQkv) {
      // One projection into the strided [q, k, v] group, then RoPE on q and k in place.
      const ws = [this.p(n.wq), this.p(n.wk), this.p(n.wv)];
      be.linearShared({ x: L.u, ws }, { ys: [L.q, L.k, L.v] }, { rows: N, inDim: C, outDim: kvDim });
      be.ropeMany({ xs: [L.q, L.k] }, { outs: [L.q, L.k] }, ashape, rope);
      return;
    }
    const scratch = this.attnScratch(acts);

    // q: [N, A] → (+ bq) → (RMSNorm per head) → RoPE → L.q
    const q = qk ? qk.q : scratch.a;
    be.linear({ x: L.u, w: this.p(n.wq) }, { y: q }, { rows: N, inDim: C, outDim: A });
    if (n.bias) be.addBias({ b: this.p(n.bias.q) }, { y: q }, { N, C: A });
    if (qk && qkw)
      be.rmsnorm({ x: q, w: this.p(qkw.q) }, { y: scratch.b, rstd: qk.rstdQ }, { N: N * H, C: D }, norm);
    be.rope({ x: qk ? scratch.b : q }, { out: L.q }, ashape, rope);

    // k: [N, kvDim] the same way, then widened; v: [N, kvDim] (+ bv), widened.
    const kvProj = { rows: N, inDim: C, outDim: kvDim };
    const kA = acts.kv ? acts.kv.a : scratch.a;
    const kB = acts.kv ? acts.kv.b : scratch.b;
    const k = qk ? qk.k : kA;
    be.linear({ x: L.u, w: this.p(n.wk) }, { y: k }, kvProj);
    if (n.bias) be.addBias({ b: this.p(n.bias.k) }, { y: k }, { N, C: kvDim });
    if (qk && qkw)
      be.rmsnorm({ x: k, w: this.p(qkw.k) }, { y: kB, rstd: qk.rstdK }, { N: N * Hkv, C: D }, norm);
    const kIn = qk ? kB : kA;
    const kOut = acts.kv ? (kIn === kA ? kB : kA) : L.k;
    be.rope({ x: kIn }, { out: kOut }, kvShape, rope);
    if (acts.kv) be.repeatKvHeads({ x: kOut }, { y: L.k }, groups);

    const v = acts.kv ? acts.kv.a : L.v;
    be.linear({ x: L.u, w: this.p(n.wv) }, { y: v }, kvProj);
    if (n.bias) be.addBias({ b: this.p(n.bias.v) }, { y: v }, { N, C: kvDim });
    if (acts.kv) be.repeatKvHeads({ x: v }, { y: L.v }, groups);
  }

  /**
   * The backward of projectQkv from the attention's dq, dk, dv ([N, heads·D], attnGrads): writes
   * g.du, accumulates the weights', biases' and q/k norms' gradients. Overwrites the attention's
   * dq, dk, d1, d2 (g.dq, g.dk, g.dNC1, g.dNC2 when heads · D = C).
   */
  private projectQkvBackward(
    L: LayerActs<F, I>,
    n: LayerParamNames,
    g: Grads<F>,
    ashape: AttentionShape,
  ): void {
    const be = this.backend;
    const { N, C, H, Hkv, D, A, kvDim, rope, kvShape, groups } = this.qkvShapes(ashape);
    const qk = L.qkNorm;
    const qkw = n.qkNorm;
    const accumulate = { accumulateDx: true };
    if (this.fusedQkv) {
      // RoPE⁻¹ on dq and dk in place, then one backward through the [q, k, v] projection.
      be.ropeManyBackward({ dys: [g.dq, g.dk] }, { dxs: [g.dq, g.dk] }, ashape, rope);
      be.linearSharedBackward(
        { x: L.u, ws: [this.p(n.wq), this.p(n.wk), this.p(n.wv)], dys: [g.dq, g.dk, g.dv] },
        { dx: g.du, dws: [this.gr(n.wq), this.gr(n.wk), this.gr(n.wv)] },
        { rows: N, inDim: C, outDim: kvDim },
      );
      return;
    }
    const ag = this.attnGrads(g);

    // q: RoPE⁻ᵀ, then the norm's backward (into dq, free once RoPE has read it), bias, Wq.
    be.ropeBackward({ dy: ag.dq }, { dx: ag.d1 }, ashape, rope);
    let dq = ag.d1;
    if (qk && qkw) {
      be.rmsnormBackward(
        { x: qk.q, w: this.p(qkw.q), rstd: qk.rstdQ, dy: ag.d1 },
        { dx: ag.dq, dw: this.gr(qkw.q) },
        { N: N * H, C: D },
      );
      dq = ag.dq;
    }
    if (n.bias) be.biasBackward({ dy: dq }, { db: this.gr(n.bias.q) }, { N, C: A });
    be.linearBackward(
      { x: L.u, w: this.p(n.wq), dy: dq },
      { dx: g.du, dw: this.gr(n.wq) },
      { rows: N, inDim: C, outDim: A },
    );

    // k: summed back over each group of query heads, then as q on kvHeads heads.
    const kvProj = { rows: N, inDim: C, outDim: kvDim };
    const dkA = g.dkv ? g.dkv.a : ag.dk;
    const dkB = g.dkv ? g.dkv.b : ag.d2;
    if (g.dkv) be.repeatKvHeadsBackward({ dy: ag.dk }, { dx: dkA }, groups);
    be.ropeBackward({ dy: dkA }, { dx: dkB }, kvShape, rope);
    let dk = dkB;
    if (qk && qkw) {
      be.rmsnormBackward(
        { x: qk.k, w: this.p(qkw.k), rstd: qk.rstdK, dy: dkB },
        { dx: dkA, dw: this.gr(qkw.k) },
        { N: N * Hkv, C: D },
      );
      dk = dkA;
    }
    if (n.bias) be.biasBackward({ dy: dk }, { db: this.gr(n.bias.k) }, { N, C: kvDim });
    be.linearBackward(
      { x: L.u, w: this.p(n.wk), dy: dk },
      { dx: g.du, dw: this.gr(n.wk) },
      kvProj,
      accumulate,
    );

    // v: summed back over each group, bias, Wv.
    let dv = ag.dv;
    if (g.dkv) {
      be.repeatKvHeadsBackward({ dy: ag.dv }, { dx: g.dkv.a }, groups);
      dv = g.dkv.a;
    }
    if (n.bias) be.biasBackward({ dy: dv }, { db: this.gr(n.bias.v) }, { N, C: kvDim });
    be.linearBackward(
      { x: L.u, w: this.p(n.wv), dy: dv },
      { dx: g.du, dw: this.gr(n.wv) },
      kvProj,
      accumulate,
    );
  }

  /** Clips and applies AdamW with per-group learning rates; `step` is 1-based. */
  optimizerStep(
    rates: { base: number; rosa: number },
    hyper: AdamHyper & { weightDecay: number },
    step: number,
  ): void {
    const groups: AdamGroup<F>[] = [];
    // The ROSA projections (Wq, Wk, Wv) learn from the counterfactual surrogate at their own scale.
    const rate = {
      base: rates.base,
      rosa: rates.rosa,
      'rosa-projection': rates.rosa * (this.config.rosa.projectionLrScale ?? 1),
    };
    // In the order of the parameter storage (param-state.ts), where each group is one range.
    for (const { group, decay } of OPTIMIZER_GROUPS) {
      const params = [...this.params.values()].filter(
        (s) => s.spec.group === group && s.spec.decay === decay,
      );
      if (params.length === 0) continue;
      groups.push({
        lr: rate[group],
        weightDecay: decay ? hyper.weightDecay : 0,
        excludeFromNorm: rate[group] === 0,
        params,
      });
    }
    this.backend.adamw(groups, hyper, step);
  }

  /** Loss of the last forward pass and gradient norm of the last optimizer step, read together. */
  async readStepStats(): Promise<StepStats> {
    const be = this.backend;
    if (be.readStepStats) return be.readStepStats();
    return { loss: await be.readLoss(), gradNorm: await be.readGradNorm() };
  }

  /** Logits of the last forward pass, [B, T, V] (read back). */
  async readLogits(): Promise<Float32Array> {
    if (!this.acts) throw new Error('readLogits: no forward pass yet');
    return (await this.backend.read([this.acts.logits]))[0];
  }

  /** One position's logits [V] of the last forward pass: what sampling the next token needs. */
  async readLogitRow(row: number): Promise<Float32Array> {
    if (!this.acts) throw new Error('readLogitRow: no forward pass yet');
    const V = this.config.vocabSize;
    return this.backend.readRange(this.acts.logits, row * V, V);
  }

  /** Retrieval results of the last forward pass at a ROSA layer (CPU copy), or null. */
  lastScan(layer: number): ScanResult<I> | null {
    return this.acts?.layers[layer]?.rosa?.scan ?? null;
  }

  /**
   * What the attention of `layer` saw in the last forward pass (read back): q and k after RoPE
   * and v, each widened to every query head, [B, T, C]. The attention view recomputes the
   * probabilities from these on the CPU (reference/attention-probabilities.ts).
   */
  async readAttentionInputs(
    layer: number,
  ): Promise<{ B: number; T: number; q: Float32Array; k: Float32Array; v: Float32Array }> {
    const acts = this.acts;
    if (!acts) throw new Error('readAttentionInputs: no forward pass yet');
    const L = acts.layers[layer];
    if (!L) throw new Error(`layer ${layer} is outside 0 … ${this.config.layers - 1}`);
    const [q, k, v] = await this.backend.read([L.q, L.k, L.v]);
    return { B: acts.B, T: acts.T, q, k, v };
  }

  /** Current parameter values (read back), by name. */
  async exportParameters(): Promise<Map<string, Float32Array>> {
    const entries = [...this.params];
    const values = await this.backend.read(entries.map(([, s]) => s.param));
    return new Map(entries.map(([name], i) => [name, values[i]]));
  }

  async exportOptimizerState(): Promise<Map<string, { m: Float32Array; v: Float32Array }>> {
    const entries = [...this.params];
    const values = await this.backend.read(entries.flatMap(([, s]) => [s.m, s.v]));
    return new Map(entries.map(([name], i) => [name, { m: values[2 * i], v: values[2 * i + 1] }]));
  }

  importOptimizerState(state: Map<string, { m: Float32Array; v: Float32Array }>): void {
    for (const [name, s] of this.params) {
      const st = state.get(name);
      if (!st) continue;
      this.backend.write(s.m, st.m);
      this.backend.write(s.v, st.v);
    }
  }

  dispose(): void {
    this.releaseSlotsFrom(0);
    for (const s of this.params.values()) this.backend.free(s.param, s.grad, s.m, s.v);
    this.backend.free(...this.paramWholes);
    this.params.clear();
  }
}

export type { StepTiming };
