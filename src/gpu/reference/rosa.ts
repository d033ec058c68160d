// CPU twins of the ROSA kernels (shaders/rosa-pack.wgsl, rosa-inject.wgsl, rosa-grad.wgsl).
// Plain Float32Array functions over the layout of src/rosa-worker/layout.ts:
//   activations q, k, v, y and their gradients: [B, T, C] row-major;
//   route r = channels r·bits … r·bits + bits − 1, bit j of route r = channel r·bits + j (LSB first);
//   lane = b · R + r with R = C / bits; scan outputs per lane as in layout.ts.
// docs/rosa-spec.md §2 (discretisation), §3 (injection), §4 (counterfactual gradient).
// At the end: the whole ROSA layer on one batch element (sign-pack, CPU scan, injection, W_out),
// the CPU backend's entry and the outside check's.

import {
  allocateScanOutputs,
  paddedLength,
  ROSA_MAX_BITS,
  type RosaMode,
  type ScanOutputs,
  type ScanShape,
} from '../../rosa-worker/layout.ts';
import { scanLanes } from '../../rosa-worker/scan.ts';
import { linearBackward, linearForward } from './matmul.ts';

export interface RosaDims {
  /** Batch size. */
  B: number;
  /** Sequence length. */
  T: number;
  /** Channels (model width of q, k, v, y). */
  C: number;
  /** Bits per route, 1..8; C must be a multiple of it. */
  bits: number;
}

/** The scan outputs the injection and its backward read (the inverse lists are GPU-only). */
export type RosaScanIndices = Pick<ScanOutputs, 'dest' | 'qRunId' | 'rcf' | 'kRunStart'>;

/** Knobs of the counterfactual surrogate (§4); the defaults are the 12.29 training script's. */
export interface RosaGradOptions {
  /** Temperature of pQ = σ(T_Q·q) in the Q chain factor (default 1). */
  tempQ?: number;
  /** Temperature of pK = σ(T_K·k) in the K chain factor (default 1). */
  tempK?: number;
  /** Temperature of pV = σ(T_V·v): the V chain factor and the soft V field (default 1). */
  tempV?: number;
  /** Use the hard bits 1[v > 0] instead of pV as the V field of the Q contrast (default false). */
  hardVForQ?: boolean;
  /** Use the hard bits 1[v > 0] instead of pV as the V field of the K contrast (default false). */
  hardVForK?: boolean;
}

export interface RosaGradients {
  gradQ: Float32Array;
  gradK: Float32Array;
  gradV: Float32Array;
  /** [C], summed over every (b, t) whose route matched. */
  gradE0: Float32Array;
  gradE1: Float32Array;
}

/** Routes R = C / bits: each route is `bits` consecutive channels. */
export function rosaRoutes({ C, bits }: Pick<RosaDims, 'C' | 'bits'>): number {
  return C / bits;
}

/** The scan's shape for the model's ROSA dims: one lane per (batch element, route). */
export function scanShapeOf(dims: RosaDims): ScanShape {
  return { lanes: dims.B * rosaRoutes(dims), T: dims.T, bits: dims.bits };
}

/** Throws a RangeError naming the field when the dims cannot describe ROSA routes. */
export function checkRosaDims(dims: RosaDims, where: string): void {
  for (const name of ['B', 'T', 'C'] as const) {
    const n = dims[name];
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`${where}: ${name} must be a whole number ≥ 0 (got ${n})`);
  }
  const { C, bits } = dims;
  if (!Number.isInteger(bits) || bits < 1 || bits > ROSA_MAX_BITS) {
    throw new RangeError(
      `${where}: bits per route must be 1..${ROSA_MAX_BITS} (got ${bits}): symbols travel as bytes`,
    );
  }
  if (C % bits !== 0) throw new RangeError(`${where}: C = ${C} is not a multiple of bits = ${bits}`);
}

function checkLength(a: ArrayLike<number>, n: number, what: string, where: string): void {
  if (a.length !== n) throw new RangeError(`${where}: ${what} has ${a.length} elements, expected ${n}`);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** σ'(x) as the surrogate uses it: p(1 − p) with p = σ(temp·x), without the factor temp (§2). */
export function sigmoidSlope(x: number, temp: number): number {
  const p = sigmoid(temp * x);
  return p * (1 - p);
}

/**
 * Sign-pack: symbol of (b, r, t) = Σ_j 1[x[b, t, r·bits + j] > 0] · 2^j (exactly 0, -0 and NaN → 0).
 * Returns Uint8 [lane][Tpad], Tpad = ceil(T/4)·4, padding bytes 0: the bytes of the GPU's u32 words.
 * No backward of its own: the counterfactual surrogate (rosaInjectionBackwardReference) is what
 * gives q, k and v their gradients through the discretisation.
 */
export function rosaSignPackReference(x: Float32Array, dims: RosaDims): Uint8Array {
  checkRosaDims(dims, 'rosaSignPackReference');
  const { B, T, C, bits } = dims;
  checkLength(x, B * T * C, 'x', 'rosaSignPackReference');
  const R = rosaRoutes(dims);
  const Tpad = paddedLength(T);
  const out = new Uint8Array(B * R * Tpad);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      for (let r = 0; r < R; r++) {
        let symbol = 0;
        for (let j = 0; j < bits; j++) if (x[row + r * bits + j] > 0) symbol |= 1 << j;
        out[(b * R + r) * Tpad + t] = symbol;
      }
    }
  }
  return out;
}

/**
 * Injection forward (§3 step 4): y[b,t,c] = 1[dest ≥ 0] · (v[b, dest, c] > 0 ? e1[c] : e0[c]),
 * dest = dest[lane(b, r(c))][t]; an unmatched route gives exactly 0. W_out is not applied here
 * (it is a linear layer: linearForward in reference/matmul.ts, matmul on the GPU).
 */
export function rosaInjectionForwardReference(
  v: Float32Array,
  e0: Float32Array,
  e1: Float32Array,
  dest: Int32Array,
  dims: RosaDims,
): Float32Array {
  checkRosaDims(dims, 'rosaInjectionForwardReference');
  const { B, T, C, bits } = dims;
  const where = 'rosaInjectionForwardReference';
  checkLength(v, B * T * C, 'v', where);
  checkLength(e0, C, 'e0', where);
  checkLength(e1, C, 'e1', where);
  const R = rosaRoutes(dims);
  checkLength(dest, B * R * T, 'dest', where);
  const y = new Float32Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        const d = dest[(b * R + Math.floor(c / bits)) * T + t];
        if (d < 0) continue;
        // select instead of e0 + (e1 − e0)·bit: the same value without a rounding step.
        y[(b * T + t) * C + c] = v[(b * T + d) * C + c] > 0 ? e1[c] : e0[c];
      }
    }
  }
  return y;
}

export interface RosaInjectionBackwardInputs extends RosaDims, RosaGradOptions {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  e0: Float32Array;
  e1: Float32Array;
  gradY: Float32Array;
  scan: RosaScanIndices;
}

/**
 * Counterfactual backward (§4), llm.c style with scatter-adds over t (the GPU gathers over the
 * inverse lists instead). With θ = gradY · (e1 − e0) and W = pV (or 1[v > 0]):
 *   gradV[τ] = σ'_V(v_τ) · Σ_{t: dest_t = τ} θ_t
 *   gradQ[t, j] = σ'_Q(q) · (D¹ − D⁰),  Dᵝ = χᵝ · Σ_m θ_{t,m} · W[s_ρᵝ, m],  ρᵝ = rcf[u(t)][j][β]
 *   gradK[s_l, j] = σ'_K(k) · (U¹ − U⁰),  Uᵝ_{l,j} = Σ_{t: ρᵝ(t,j) = l} Dᵝ_{t,j}  (0 off run starts)
 *   gradE1[c] = Σ g · valid · bit,  gradE0[c] = Σ g · valid · (1 − bit).
 */
export function rosaInjectionBackwardReference(inputs: RosaInjectionBackwardInputs): RosaGradients {
  const where = 'rosaInjectionBackwardReference';
  checkRosaDims(inputs, where);
  const { B, T, C, bits, q, k, v, e0, e1, gradY, scan } = inputs;
  const tempQ = inputs.tempQ ?? 1;
  const tempK = inputs.tempK ?? 1;
  const tempV = inputs.tempV ?? 1;
  const hardQ = inputs.hardVForQ ?? false;
  const hardK = inputs.hardVForK ?? false;
  for (const [name, a] of [
    ['q', q],
    ['k', k],
    ['v', v],
    ['gradY', gradY],
  ] as const)
    checkLength(a, B * T * C, name, where);
  checkLength(e0, C, 'e0', where);
  checkLength(e1, C, 'e1', where);
  const R = rosaRoutes(inputs);
  checkLength(scan.dest, B * R * T, 'scan.dest', where);
  checkLength(scan.qRunId, B * R * T, 'scan.qRunId', where);
  checkLength(scan.kRunStart, B * R * T, 'scan.kRunStart', where);
  checkLength(scan.rcf, B * R * T * bits * 2, 'scan.rcf', where);

  const N = B * T * C;
  const gradQ = new Float32Array(N);
  const gradK = new Float32Array(N);
  const gradV = new Float32Array(N);
  const sumE0 = new Float64Array(C);
  const sumE1 = new Float64Array(C);
  const field = (at: number, hard: boolean) => (hard ? (v[at] > 0 ? 1 : 0) : sigmoid(tempV * v[at]));

  // Per-lane scratch: the V sums per retrieved time and Uᵝ per (K-run, bit).
  const accV = new Float64Array(T * bits);
  const U = new Float64Array(T * bits * 2);
  const theta = new Float64Array(bits);
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      const lane = b * R + r;
      const c0 = r * bits;
      accV.fill(0);
      U.fill(0);
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * C + c0;
        for (let m = 0; m < bits; m++) theta[m] = gradY[row + m] * (e1[c0 + m] - e0[c0 + m]);
        const d = scan.dest[lane * T + t];
        if (d >= 0) {
          for (let m = 0; m < bits; m++) {
            accV[d * bits + m] += theta[m];
            const g = gradY[row + m];
            if (v[(b * T + d) * C + c0 + m] > 0) sumE1[c0 + m] += g;
            else sumE0[c0 + m] += g;
          }
        }
        const u = scan.qRunId[lane * T + t];
        for (let j = 0; j < bits; j++) {
          let contrast = 0;
          for (let beta = 0; beta < 2; beta++) {
            const rho = scan.rcf[((lane * T + u) * bits + j) * 2 + beta];
            if (rho < 0) continue;
            const base = (b * T + scan.kRunStart[lane * T + rho]) * C + c0;
            let dq = 0;
            let dk = 0;
            for (let m = 0; m < bits; m++) {
              dq += theta[m] * field(base + m, hardQ);
              dk += theta[m] * field(base + m, hardK);
            }
            contrast += beta === 1 ? dq : -dq;
            U[(rho * bits + j) * 2 + beta] += dk;
          }
          gradQ[row + j] = sigmoidSlope(q[row + j], tempQ) * contrast;
        }
      }
      for (let tau = 0; tau < T; tau++) {
        const at = (b * T + tau) * C + c0;
        for (let m = 0; m < bits; m++) gradV[at + m] = sigmoidSlope(v[at + m], tempV) * accV[tau * bits + m];
      }
      for (let l = 0; l < T; l++) {
        const s = scan.kRunStart[lane * T + l];
        if (s < 0) continue;
        const at = (b * T + s) * C + c0;
        for (let j = 0; j < bits; j++) {
          const diff = U[(l * bits + j) * 2 + 1] - U[(l * bits + j) * 2];
          gradK[at + j] = sigmoidSlope(k[at + j], tempK) * diff;
        }
      }
    }
  }
  return { gradQ, gradK, gradV, gradE0: Float32Array.from(sumE0), gradE1: Float32Array.from(sumE1) };
}

/**
 * Sign-packs q and k and runs the CPU scan on every lane (batched layout, inverse lists included):
 * what the GPU path does with the sign-pack kernel and the worker pool.
 */
export function rosaScanFromActivations(
  q: Float32Array,
  k: Float32Array,
  dims: RosaDims,
  mode: RosaMode = 'rosa-tuning',
): { scan: ScanOutputs; qSymbols: Uint8Array; kSymbols: Uint8Array } {
  const qSymbols = rosaSignPackReference(q, dims);
  const kSymbols = rosaSignPackReference(k, dims);
  const shape = scanShapeOf(dims);
  const scan = allocateScanOutputs(shape);
  scanLanes({ mode, shape, qSym: qSymbols, kSym: kSymbols }, scan);
  return { scan, qSymbols, kSymbols };
}

/** One batch element of a ROSA layer: row-major T×C activations, route r = channels r·bits… */
export interface RosaLayerInputs extends RosaGradOptions {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  /** [C] injected value for a retrieved V bit of 0 / of 1. */
  e0: Float32Array;
  e1: Float32Array;
  T: number;
  C: number;
  bits: number;
  /** Scan semantics (docs/rosa-spec.md §1.5 / §1.3); default 'rosa-tuning'. */
  mode?: RosaMode;
  /** Optional injection projection W_out, C×C in linear-layer layout (out × in); identity at init. */
  wOut?: Float32Array;
}

export interface RosaLayerForwardResult {
  /** T×C: 1[matched] · (v[dest] > 0 ? e1 : e0), before W_out. */
  y: Float32Array;
  /** T×C: y · W_outᵀ, only when wOut was given. */
  injection?: Float32Array;
  /** [R][T]: time whose v route r reads at t, or -1. */
  dest: Int32Array;
  /** [T][R]: 1 where route r matched at t. */
  matched: Uint8Array;
  /** [R][Tpad] symbols of q and k (the scan's input). */
  qSymbols: Uint8Array;
  kSymbols: Uint8Array;
  /** Everything the scan produced, inverse lists included (lanes = routes). */
  scan: ScanOutputs;
}

function layerDims(x: RosaLayerInputs, where: string): RosaDims {
  const dims = { B: 1, T: x.T, C: x.C, bits: x.bits };
  checkRosaDims(dims, where);
  for (const name of ['q', 'k', 'v'] as const) checkLength(x[name], x.T * x.C, name, where);
  checkLength(x.e0, x.C, 'e0', where);
  checkLength(x.e1, x.C, 'e1', where);
  if (x.wOut !== undefined) checkLength(x.wOut, x.C * x.C, 'wOut', where);
  return dims;
}

/** The whole ROSA layer forward on one batch element (the scan runs here, on the CPU). */
export function rosaLayerForward(x: RosaLayerInputs): RosaLayerForwardResult {
  const dims = layerDims(x, 'rosaLayerForward');
  const { T, C } = dims;
  const { scan, qSymbols, kSymbols } = rosaScanFromActivations(x.q, x.k, dims, x.mode);
  const y = rosaInjectionForwardReference(x.v, x.e0, x.e1, scan.dest, dims);
  const R = rosaRoutes(dims);
  const matched = new Uint8Array(T * R);
  for (let r = 0; r < R; r++)
    for (let t = 0; t < T; t++) matched[t * R + r] = scan.dest[r * T + t] >= 0 ? 1 : 0;
  const result: RosaLayerForwardResult = { y, dest: scan.dest, matched, qSymbols, kSymbols, scan };
  if (x.wOut !== undefined) result.injection = linearForward(y, x.wOut, T, C, C);
  return result;
}

export interface RosaLayerBackwardInputs extends RosaLayerInputs {
  /** T×C gradient of the loss with respect to y. */
  gradY?: Float32Array;
  /** T×C gradient with respect to y · W_outᵀ, instead of gradY (needs wOut). */
  gradInjection?: Float32Array;
}

export interface RosaLayerGradients extends RosaGradients {
  /** C×C, only when gradInjection was given. */
  gradWOut?: Float32Array;
}

/**
 * The whole ROSA layer backward on one batch element: reruns the scan (this twin keeps no state),
 * then the counterfactual gradients of §4. With gradInjection and wOut, the gradient first goes
 * through W_out (gradY = gradInjection · W_out) and gradWOut = gradInjectionᵀ · y is returned too.
 */
export function rosaLayerBackward(x: RosaLayerBackwardInputs): RosaLayerGradients {
  const where = 'rosaLayerBackward';
  const dims = layerDims(x, where);
  const { T, C } = dims;
  const { scan } = rosaScanFromActivations(x.q, x.k, dims, x.mode);
  let gradY = x.gradY;
  let gradWOut: Float32Array | undefined;
  if (x.gradInjection !== undefined) {
    if (x.wOut === undefined) throw new RangeError(`${where}: gradInjection needs wOut`);
    if (gradY !== undefined) throw new RangeError(`${where}: give gradY or gradInjection, not both`);
    checkLength(x.gradInjection, T * C, 'gradInjection', where);
    const y = rosaInjectionForwardReference(x.v, x.e0, x.e1, scan.dest, dims);
    const g = linearBackward(y, x.wOut, x.gradInjection, T, C, C);
    gradY = g.dx;
    gradWOut = g.dw;
  }
  if (gradY === undefined) throw new RangeError(`${where}: gradY (or gradInjection with wOut) is required`);
  const grads: RosaLayerGradients = rosaInjectionBackwardReference({ ...x, ...dims, gradY, scan });
  if (gradWOut !== undefined) grads.gradWOut = gradWOut;
  return grads;
}
