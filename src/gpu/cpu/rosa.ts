// Fast CPU ROSA backward for the CPU backend: the same arithmetic, in the same order, as
// rosaInjectionBackwardReference (src/gpu/reference/rosa.ts), so the results are bit-identical.
// The twin evaluates the V field σ(T_V·v) 4·bits² times per (t, route) inside the counterfactual
// loop (2 million exp per layer at the default bench shape, most of the ROSA step on the CPU);
// here it is computed once per element of v (and reused for the V chain factor), and the scratch
// is reused across calls.

import {
  checkRosaDims,
  type RosaGradients,
  type RosaInjectionBackwardInputs,
  rosaRoutes,
  sigmoid,
  sigmoidSlope,
} from '../reference/rosa.ts';

interface Scratch {
  fieldQ: Float64Array;
  fieldK: Float64Array;
  slopeV: Float64Array;
  accV: Float64Array;
  U: Float64Array;
}

let scratch: Scratch | null = null;

function scratchFor(N: number, T: number, bits: number): Scratch {
  const s = scratch;
  if (s && s.fieldQ.length >= N && s.accV.length >= T * bits) return s;
  scratch = {
    fieldQ: new Float64Array(N),
    fieldK: new Float64Array(N),
    slopeV: new Float64Array(N),
    accV: new Float64Array(T * bits),
    U: new Float64Array(T * bits * 2),
  };
  return scratch;
}

function need(a: ArrayLike<number>, n: number, what: string): void {
  if (a.length < n) {
    throw new RangeError(`rosaInjectionBackwardFast: ${what} has ${a.length} elements, needs ${n}`);
  }
}

/** rosaInjectionBackwardReference, bit for bit, with the V field computed once per element. */
export function rosaInjectionBackwardFast(inputs: RosaInjectionBackwardInputs): RosaGradients {
  checkRosaDims(inputs, 'rosaInjectionBackwardFast');
  const { B, T, C, bits, q, k, v, e0, e1, gradY, scan } = inputs;
  const tempQ = inputs.tempQ ?? 1;
  const tempK = inputs.tempK ?? 1;
  const tempV = inputs.tempV ?? 1;
  const hardQ = inputs.hardVForQ ?? false;
  const hardK = inputs.hardVForK ?? false;
  const N = B * T * C;
  for (const [name, a] of [
    ['q', q],
    ['k', k],
    ['v', v],
    ['gradY', gradY],
  ] as const)
    need(a, N, name);
  need(e0, C, 'e0');
  need(e1, C, 'e1');
  const R = rosaRoutes(inputs);
  need(scan.dest, B * R * T, 'scan.dest');
  need(scan.qRunId, B * R * T, 'scan.qRunId');
  need(scan.kRunStart, B * R * T, 'scan.kRunStart');
  need(scan.rcf, B * R * T * bits * 2, 'scan.rcf');

  const gradQ = new Float32Array(N);
  const gradK = new Float32Array(N);
  const gradV = new Float32Array(N);
  const sumE0 = new Float64Array(C);
  const sumE1 = new Float64Array(C);
  const { fieldQ, fieldK, slopeV, accV, U } = scratchFor(N, T, bits);
  for (let i = 0; i < N; i++) {
    // p = σ(T_V·v) is both the soft field and, as p(1 − p), the V chain factor (sigmoidSlope).
    const soft = sigmoid(tempV * v[i]);
    const hard = v[i] > 0 ? 1 : 0;
    fieldQ[i] = hardQ ? hard : soft;
    fieldK[i] = hardK ? hard : soft;
    slopeV[i] = soft * (1 - soft);
  }
  const sameField = hardQ === hardK;
  const theta = new Float64Array(bits);
  const { dest, qRunId, rcf, kRunStart } = scan;
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      const lane = b * R + r;
      const c0 = r * bits;
      accV.fill(0, 0, T * bits);
      U.fill(0, 0, T * bits * 2);
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * C + c0;
        for (let m = 0; m < bits; m++) theta[m] = gradY[row + m] * (e1[c0 + m] - e0[c0 + m]);
        const d = dest[lane * T + t];
        if (d >= 0) {
          for (let m = 0; m < bits; m++) {
            accV[d * bits + m] += theta[m];
            const g = gradY[row + m];
            if (v[(b * T + d) * C + c0 + m] > 0) sumE1[c0 + m] += g;
            else sumE0[c0 + m] += g;
          }
        }
        const u = qRunId[lane * T + t];
        for (let j = 0; j < bits; j++) {
          let contrast = 0;
          for (let beta = 0; beta < 2; beta++) {
            const rho = rcf[((lane * T + u) * bits + j) * 2 + beta];
            if (rho < 0) continue;
            const base = (b * T + kRunStart[lane * T + rho]) * C + c0;
            let dq = 0;
            for (let m = 0; m < bits; m++) dq += theta[m] * fieldQ[base + m];
            // The model always uses one field for both contrasts: then dk is dq, same sum.
            let dk = dq;
            if (!sameField) {
              dk = 0;
              for (let m = 0; m < bits; m++) dk += theta[m] * fieldK[base + m];
            }
            contrast += beta === 1 ? dq : -dq;
            U[(rho * bits + j) * 2 + beta] += dk;
          }
          gradQ[row + j] = sigmoidSlope(q[row + j], tempQ) * contrast;
        }
      }
      for (let tau = 0; tau < T; tau++) {
        const at = (b * T + tau) * C + c0;
        for (let m = 0; m < bits; m++) gradV[at + m] = slopeV[at + m] * accV[tau * bits + m];
      }
      for (let l = 0; l < T; l++) {
        const s = kRunStart[lane * T + l];
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
