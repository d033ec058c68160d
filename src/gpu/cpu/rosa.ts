// Fast CPU ROSA ops for the CPU backend: the same arithmetic, in the same order, as the twins in
// src/gpu/reference/rosa.ts (rosaSignPackReference, rosaInjectionForwardReference,
// rosaInjectionBackwardReference), so the results are bit-identical; the twins stay the references.
// What makes them faster:
// - the backward gathers each lane's q slope, V field, V slope and θ = gradY·(e1 − e0) into
//   contiguous [T][bits] scratch once (one exp per element of q and of v), instead of reading
//   strided [B, T, C] rows and re-evaluating σ inside the counterfactual loop;
// - 4 bits per route (the default) has an unrolled contrast, the same sums in the same order;
// - outputs are written in place (the backend's own arrays), and scratch is reused across calls.

import { paddedLength } from '../../rosa-worker/layout.ts';
import {
  checkRosaDims,
  type RosaDims,
  type RosaGradients,
  type RosaInjectionBackwardInputs,
  rosaRoutes,
} from '../reference/rosa.ts';

interface Scratch {
  /** Per lane, [T][bits]: σ'(q), V field (Q and K), σ'(v), θ, the V sums, Uᵝ per (K-run, bit). */
  slopeQ: Float64Array;
  fieldQ: Float64Array;
  fieldK: Float64Array;
  slopeV: Float64Array;
  theta: Float64Array;
  accV: Float64Array;
  U: Float64Array;
  /** [C]: e1 − e0 and the e0/e1 gradient sums. */
  diffE: Float64Array;
  sumE0: Float64Array;
  sumE1: Float64Array;
}

let scratch: Scratch | null = null;

function scratchFor(T: number, bits: number, C: number): Scratch {
  const s = scratch;
  const TB = T * bits;
  if (s && s.theta.length >= TB && s.diffE.length >= C) return s;
  scratch = {
    slopeQ: new Float64Array(TB),
    fieldQ: new Float64Array(TB),
    fieldK: new Float64Array(TB),
    slopeV: new Float64Array(TB),
    theta: new Float64Array(TB),
    accV: new Float64Array(TB),
    U: new Float64Array(TB * 2),
    diffE: new Float64Array(C),
    sumE0: new Float64Array(C),
    sumE1: new Float64Array(C),
  };
  return scratch;
}

function need(a: ArrayLike<number>, n: number, what: string, where: string): void {
  if (a.length < n) throw new RangeError(`${where}: ${what} has ${a.length} elements, needs ${n}`);
}

/**
 * rosaSignPackReference, into `out` when given (B·R·Tpad bytes; the padding bytes are zeroed).
 * The twin's loop, with the route's channels read as one row slice.
 */
export function rosaSignPackFast(x: Float32Array, dims: RosaDims, out?: Uint8Array): Uint8Array {
  const where = 'rosaSignPackFast';
  checkRosaDims(dims, where);
  const { B, T, C, bits } = dims;
  need(x, B * T * C, 'x', where);
  const R = rosaRoutes(dims);
  const Tpad = paddedLength(T);
  const symbols = out ?? new Uint8Array(B * R * Tpad);
  need(symbols, B * R * Tpad, 'out', where);
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      const lane = (b * R + r) * Tpad;
      let at = b * T * C + r * bits;
      for (let t = 0; t < T; t++, at += C) {
        let symbol = 0;
        for (let j = 0; j < bits; j++) if (x[at + j] > 0) symbol |= 1 << j;
        symbols[lane + t] = symbol;
      }
      symbols.fill(0, lane + T, lane + Tpad);
    }
  }
  return symbols;
}

/**
 * rosaInjectionForwardReference written into `y` ([B, T, C]; unmatched routes get exactly 0):
 * one dest read per (b, t, route) instead of one per channel.
 */
export function rosaInjectionForwardFast(
  v: Float32Array,
  e0: Float32Array,
  e1: Float32Array,
  dest: Int32Array,
  dims: RosaDims,
  y: Float32Array,
): void {
  const where = 'rosaInjectionForwardFast';
  checkRosaDims(dims, where);
  const { B, T, C, bits } = dims;
  const R = rosaRoutes(dims);
  need(v, B * T * C, 'v', where);
  need(y, B * T * C, 'y', where);
  need(e0, C, 'e0', where);
  need(e1, C, 'e1', where);
  need(dest, B * R * T, 'dest', where);
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      const c0 = r * bits;
      const lane = (b * R + r) * T;
      for (let t = 0; t < T; t++) {
        const at = (b * T + t) * C + c0;
        const d = dest[lane + t];
        if (d < 0) {
          for (let m = 0; m < bits; m++) y[at + m] = 0;
          continue;
        }
        const from = (b * T + d) * C + c0;
        for (let m = 0; m < bits; m++) y[at + m] = v[from + m] > 0 ? e1[c0 + m] : e0[c0 + m];
      }
    }
  }
}

/** Where rosaInjectionBackwardFast writes: gradQ/K/V are overwritten, gradE0/E1 accumulated into. */
export interface RosaGradientTargets {
  gradQ: Float32Array;
  gradK: Float32Array;
  gradV: Float32Array;
  gradE0: Float32Array;
  gradE1: Float32Array;
}

function checkBackwardInputs(inputs: RosaInjectionBackwardInputs, where: string): void {
  checkRosaDims(inputs, where);
  const { B, T, C, bits, scan } = inputs;
  const N = B * T * C;
  for (const name of ['q', 'k', 'v', 'gradY'] as const) need(inputs[name], N, name, where);
  need(inputs.e0, C, 'e0', where);
  need(inputs.e1, C, 'e1', where);
  const RT = B * rosaRoutes(inputs) * T;
  need(scan.dest, RT, 'scan.dest', where);
  need(scan.qRunId, RT, 'scan.qRunId', where);
  need(scan.kRunStart, RT, 'scan.kRunStart', where);
  need(scan.rcf, RT * bits * 2, 'scan.rcf', where);
}

/**
 * rosaInjectionBackwardReference, bit for bit. Without `targets` it returns fresh gradients;
 * with them, gradQ/K/V are overwritten and the e0/e1 gradients added (one float32 rounding of
 * the float64 sum, then the add, as the backend's axpy of the twin's result did).
 */
export function rosaInjectionBackwardFast(
  inputs: RosaInjectionBackwardInputs,
  targets?: RosaGradientTargets,
): RosaGradients {
  const where = 'rosaInjectionBackwardFast';
  checkBackwardInputs(inputs, where);
  const { B, T, C, bits, e0, e1 } = inputs;
  const N = B * T * C;
  const out: RosaGradientTargets = targets ?? {
    gradQ: new Float32Array(N),
    gradK: new Float32Array(N),
    gradV: new Float32Array(N),
    gradE0: new Float32Array(C),
    gradE1: new Float32Array(C),
  };
  if (targets) {
    for (const name of ['gradQ', 'gradK', 'gradV'] as const) need(targets[name], N, name, where);
    need(targets.gradE0, C, 'gradE0', where);
    need(targets.gradE1, C, 'gradE1', where);
  }
  const s = scratchFor(T, bits, C);
  s.sumE0.fill(0, 0, C);
  s.sumE1.fill(0, 0, C);
  for (let c = 0; c < C; c++) s.diffE[c] = e1[c] - e0[c];
  // gradK is written at K-run starts only: the rest stays 0.
  out.gradK.fill(0, 0, N);
  const R = rosaRoutes(inputs);
  for (let b = 0; b < B; b++) for (let r = 0; r < R; r++) backwardLane(inputs, s, out, b, r);
  for (let c = 0; c < C; c++) {
    out.gradE0[c] += Math.fround(s.sumE0[c]);
    out.gradE1[c] += Math.fround(s.sumE1[c]);
  }
  // Without targets: the returned e0/e1 gradients are the rounded sums themselves (0 + x = x).
  return { gradQ: out.gradQ, gradK: out.gradK, gradV: out.gradV, gradE0: out.gradE0, gradE1: out.gradE1 };
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** One lane (batch element b, route r) of the backward: the twin's loop body for that lane. */
function backwardLane(
  inputs: RosaInjectionBackwardInputs,
  s: Scratch,
  out: RosaGradientTargets,
  b: number,
  r: number,
): void {
  const { T, C, bits, q, k, v, gradY, scan } = inputs;
  const tempQ = inputs.tempQ ?? 1;
  const tempK = inputs.tempK ?? 1;
  const tempV = inputs.tempV ?? 1;
  const hardQ = inputs.hardVForQ ?? false;
  const hardK = inputs.hardVForK ?? false;
  // The model always uses one field for both contrasts: then the K sum is the Q sum.
  const sameField = hardQ === hardK;
  const { slopeQ, fieldQ, fieldK, slopeV, theta, accV, U, diffE, sumE0, sumE1 } = s;
  const { gradQ, gradK, gradV } = out;
  const { dest, qRunId, rcf, kRunStart } = scan;
  const R = rosaRoutes(inputs);
  const lane = (b * R + r) * T;
  const c0 = r * bits;
  const TB = T * bits;

  // Gather: p = σ(T_V·v) is the soft field and, as p(1 − p), the V chain factor (sigmoidSlope).
  for (let t = 0; t < T; t++) {
    const row = (b * T + t) * C + c0;
    const tb = t * bits;
    for (let m = 0; m < bits; m++) {
      const x = v[row + m];
      const p = sigmoid(tempV * x);
      const hard = x > 0 ? 1 : 0;
      fieldQ[tb + m] = hardQ ? hard : p;
      fieldK[tb + m] = hardK ? hard : p;
      slopeV[tb + m] = p * (1 - p);
      const pq = sigmoid(tempQ * q[row + m]);
      slopeQ[tb + m] = pq * (1 - pq);
      theta[tb + m] = gradY[row + m] * diffE[c0 + m];
    }
  }
  accV.fill(0, 0, TB);
  U.fill(0, 0, TB * 2);

  const unrolled = bits === 4 && sameField;
  for (let t = 0; t < T; t++) {
    const row = (b * T + t) * C + c0;
    const tb = t * bits;
    const d = dest[lane + t];
    if (d >= 0) {
      const db = d * bits;
      const vrow = (b * T + d) * C + c0;
      for (let m = 0; m < bits; m++) {
        accV[db + m] += theta[tb + m];
        const g = gradY[row + m];
        if (v[vrow + m] > 0) sumE1[c0 + m] += g;
        else sumE0[c0 + m] += g;
      }
    }
    // rcf row of this t's Q-run: [bits][2] K-run indices (or -1).
    const cf = (lane + qRunId[lane + t]) * bits * 2;
    if (unrolled) {
      // The twin's `dq = 0; dq += θ_m·W_m` for m = 0..3, written out: the same sums, same order.
      const th0 = theta[tb];
      const th1 = theta[tb + 1];
      const th2 = theta[tb + 2];
      const th3 = theta[tb + 3];
      for (let j = 0; j < 4; j++) {
        // contrast = −D⁰ + D¹ as the twin sums it (0 + (−x) and 0 − x are the same double).
        let contrast = 0;
        const rho0 = rcf[cf + 2 * j];
        if (rho0 >= 0) {
          const f = kRunStart[lane + rho0] * 4;
          const dq = 0 + th0 * fieldQ[f] + th1 * fieldQ[f + 1] + th2 * fieldQ[f + 2] + th3 * fieldQ[f + 3];
          contrast -= dq;
          U[(rho0 * 4 + j) * 2] += dq;
        }
        const rho1 = rcf[cf + 2 * j + 1];
        if (rho1 >= 0) {
          const f = kRunStart[lane + rho1] * 4;
          const dq = 0 + th0 * fieldQ[f] + th1 * fieldQ[f + 1] + th2 * fieldQ[f + 2] + th3 * fieldQ[f + 3];
          contrast += dq;
          U[(rho1 * 4 + j) * 2 + 1] += dq;
        }
        gradQ[row + j] = slopeQ[tb + j] * contrast;
      }
      continue;
    }
    for (let j = 0; j < bits; j++) {
      let contrast = 0;
      for (let beta = 0; beta < 2; beta++) {
        const rho = rcf[cf + 2 * j + beta];
        if (rho < 0) continue;
        const f = kRunStart[lane + rho] * bits;
        let dq = 0;
        for (let m = 0; m < bits; m++) dq += theta[tb + m] * fieldQ[f + m];
        let dk = dq;
        if (!sameField) {
          dk = 0;
          for (let m = 0; m < bits; m++) dk += theta[tb + m] * fieldK[f + m];
        }
        contrast += beta === 1 ? dq : -dq;
        U[(rho * bits + j) * 2 + beta] += dk;
      }
      gradQ[row + j] = slopeQ[tb + j] * contrast;
    }
  }
  for (let tau = 0; tau < T; tau++) {
    const at = (b * T + tau) * C + c0;
    const tb = tau * bits;
    for (let m = 0; m < bits; m++) gradV[at + m] = slopeV[tb + m] * accV[tb + m];
  }
  for (let l = 0; l < T; l++) {
    const start = kRunStart[lane + l];
    if (start < 0) continue;
    const at = (b * T + start) * C + c0;
    for (let j = 0; j < bits; j++) {
      const diff = U[(l * bits + j) * 2 + 1] - U[(l * bits + j) * 2];
      const p = sigmoid(tempK * k[at + j]);
      gradK[at + j] = p * (1 - p) * diff;
    }
  }
}
