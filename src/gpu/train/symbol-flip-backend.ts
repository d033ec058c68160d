// The CPU backend with two extra abilities the gradient check (gradient-check.ts) needs,
// without a hook in the model:
//   - flip bits of ROSA query, key or value symbols in the forward pass: the sign of a
//     pre-discretisation activation is inverted just before the scan (q, k) or the injection (v),
//     so the whole rest of the forward, later layers included, runs on the flipped symbol (the
//     check flips one bit per batch element, each in its own copy of a sequence);
//   - capture, per ROSA layer, what its backward saw: the layer input u of the projections, the
//     activations q, k, v and the counterfactual gradients the surrogate gave them.
// A forward pass starts with the embedding and calls rosaScan once per ROSA layer, in layer
// order: that gives each scan its layer's ordinal. The backward finds it by the q buffer.

import type { RosaMode } from '../../rosa-worker/layout.ts';
import type { RosaBackwardOptions, RosaScanner, ScanResult, ScanTiming } from '../model/backend.ts';
import { CpuBackend } from '../model/cpu-backend.ts';
import type { RosaDims } from '../reference/rosa.ts';

export type RosaRoute = 'q' | 'k' | 'v';
export const ROSA_ROUTES: readonly RosaRoute[] = ['q', 'k', 'v'];

/** A bit to flip: activation `index` ([B, T, C] row-major) of `route` at the ordinal-th ROSA layer. */
export interface SymbolFlip {
  ordinal: number;
  route: RosaRoute;
  index: number;
}

/** What one ROSA layer's backward saw (copies). */
export interface RosaLayerCapture {
  /** Input of the Wq/Wk/Wv projections, [B·T, C]. */
  u: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  /** Surrogate gradients of the activations (σ' · contrast), [B·T, C]. */
  gradQ: Float32Array;
  gradK: Float32Array;
  gradV: Float32Array;
  options: RosaBackwardOptions;
  /** dest, Q-run ids and K-run start times of the scan, [lane][T] (kRunStart: -1 past the last run). */
  dest: Int32Array;
  qRunId: Int32Array;
  kRunStart: Int32Array;
}

/** A sign flip of an activation flips its bit: x > 0 ⇔ bit 1 (exact zero counts as 0). */
function flipSign(x: Float32Array, i: number): void {
  x[i] = x[i] > 0 ? -x[i] : x[i] === 0 ? 1 : -x[i];
}

export class SymbolFlipBackend extends CpuBackend {
  /** The bits flipped in the next forward passes; none for the unperturbed model. */
  flips: readonly SymbolFlip[] = [];
  /** Filled by backward passes while true. */
  capturing = false;
  readonly captures = new Map<number, RosaLayerCapture>();
  private readonly ordinals = new Map<Float32Array, number>();
  private readonly inputOf = new WeakMap<Float32Array, Float32Array>();
  private currentOrdinal = -1;
  private scansThisPass = 0;

  override embedding(
    inputs: { tokens: Int32Array; table: Float32Array },
    outputs: { out: Float32Array },
    shape: { N: number; C: number; V: number },
  ): void {
    this.scansThisPass = 0;
    super.embedding(inputs, outputs, shape);
  }

  override linear(
    inputs: { x: Float32Array; w: Float32Array },
    outputs: { y: Float32Array },
    shape: { rows: number; inDim: number; outDim: number },
    options: { accumulate?: boolean } = {},
  ): void {
    // Remember which buffer each output came from: the ROSA q's input is the layer's u.
    this.inputOf.set(outputs.y, inputs.x);
    super.linear(inputs, outputs, shape, options);
  }

  override async rosaScan(
    inputs: { q: Float32Array; k: Float32Array },
    dims: RosaDims,
    options: { mode: RosaMode; scanner: RosaScanner; reuse?: ScanResult<Int32Array> },
  ): Promise<ScanResult<Int32Array> & ScanTiming> {
    const ordinal = this.scansThisPass++;
    this.ordinals.set(inputs.q, ordinal);
    this.currentOrdinal = ordinal;
    for (const f of this.flips) {
      if (f.ordinal === ordinal && f.route !== 'v') flipSign(f.route === 'q' ? inputs.q : inputs.k, f.index);
    }
    return super.rosaScan(inputs, dims, options);
  }

  override rosaInject(
    inputs: { v: Float32Array; e0: Float32Array; e1: Float32Array; scan: ScanResult<Int32Array> },
    outputs: { y: Float32Array },
    dims: RosaDims,
  ): void {
    for (const f of this.flips) {
      if (f.ordinal === this.currentOrdinal && f.route === 'v') flipSign(inputs.v, f.index);
    }
    super.rosaInject(inputs, outputs, dims);
  }

  override rosaBackward(
    args: {
      q: Float32Array;
      k: Float32Array;
      v: Float32Array;
      e0: Float32Array;
      e1: Float32Array;
      gradY: Float32Array;
      scan: ScanResult<Int32Array>;
    },
    out: {
      gradQ: Float32Array;
      gradK: Float32Array;
      gradV: Float32Array;
      gradE0: Float32Array;
      gradE1: Float32Array;
    },
    dims: RosaDims,
    options: RosaBackwardOptions,
  ): void {
    super.rosaBackward(args, out, dims, options);
    if (!this.capturing) return;
    const ordinal = this.ordinals.get(args.q);
    const u = this.inputOf.get(args.q);
    if (ordinal === undefined || !u)
      throw new Error('SymbolFlipBackend: a ROSA backward without its forward');
    this.captures.set(ordinal, {
      u: Float32Array.from(u),
      q: Float32Array.from(args.q),
      k: Float32Array.from(args.k),
      v: Float32Array.from(args.v),
      gradQ: Float32Array.from(out.gradQ),
      gradK: Float32Array.from(out.gradK),
      gradV: Float32Array.from(out.gradV),
      options: { ...options },
      dest: Int32Array.from(args.scan.host.dest),
      qRunId: Int32Array.from(args.scan.host.qRunId),
      kRunStart: Int32Array.from(args.scan.host.kRunStart),
    });
  }
}
