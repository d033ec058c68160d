import { describe, expect, it } from 'vitest';
import {
  type RosaDims,
  type RosaGradOptions,
  type RosaScanIndices,
  rosaInjectionBackwardReference,
  rosaInjectionForwardReference,
  rosaRoutes,
  rosaSignPackReference,
  sigmoid,
} from '../../../src/gpu/reference/rosa.ts';
import { paddedLength } from '../../../src/rosa-worker/layout.ts';
import { expectClose } from '../../harness/compare.ts';
import { randomArray } from '../../harness/random.ts';
import { activations, layerVectors, randomScanOutputs, vectorEScan } from '../../harness/rosa-fixtures.ts';

interface Case extends RosaDims, RosaGradOptions {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  e0: Float32Array;
  e1: Float32Array;
  gradY: Float32Array;
  scan: RosaScanIndices;
}

function randomCase(dims: RosaDims, seed: number, options: RosaGradOptions = {}): Case {
  const n = dims.B * dims.T * dims.C;
  return {
    ...dims,
    ...options,
    q: activations(n, seed),
    k: activations(n, seed + 1),
    v: activations(n, seed + 2),
    e0: randomArray(dims.C, seed + 3),
    e1: randomArray(dims.C, seed + 4),
    gradY: randomArray(n, seed + 5),
    scan: randomScanOutputs(dims, seed + 6),
  };
}

/**
 * §4 written out literally, one (t, j, β) at a time, in float64, for clarity rather than speed:
 * D(β, t, j) = χᵝ Σ_m θ_{t,m} W(s_ρᵝ, m); U is found by scanning every t for ρᵝ(t, j) = l.
 */
function literalBackward(x: Case) {
  const { B, T, C, bits, q, k, v, e0, e1, gradY, scan } = x;
  const tq = x.tempQ ?? 1;
  const tk = x.tempK ?? 1;
  const tv = x.tempV ?? 1;
  const R = C / bits;
  const at = (b: number, t: number, c: number) => (b * T + t) * C + c;
  const slope = (z: number, temp: number) => sigmoid(temp * z) * (1 - sigmoid(temp * z));
  const theta = (b: number, t: number, c: number) => gradY[at(b, t, c)] * (e1[c] - e0[c]);
  const W = (b: number, s: number, c: number, hard: boolean) =>
    hard ? (v[at(b, s, c)] > 0 ? 1 : 0) : sigmoid(tv * v[at(b, s, c)]);
  const rho = (b: number, r: number, t: number, j: number, beta: number) => {
    const lane = b * R + r;
    const u = scan.qRunId[lane * T + t];
    return scan.rcf[((lane * T + u) * bits + j) * 2 + beta];
  };
  const D = (b: number, r: number, t: number, j: number, beta: number, hard: boolean) => {
    const l = rho(b, r, t, j, beta);
    if (l < 0) return 0;
    const s = scan.kRunStart[(b * R + r) * T + l];
    let sum = 0;
    for (let m = 0; m < bits; m++) sum += theta(b, t, r * bits + m) * W(b, s, r * bits + m, hard);
    return sum;
  };
  const n = B * T * C;
  const out = {
    gradQ: new Float64Array(n),
    gradK: new Float64Array(n),
    gradV: new Float64Array(n),
    gradE0: new Float64Array(C),
    gradE1: new Float64Array(C),
    // The contrasts themselves, for the finite-difference checks of the chain factors.
    dQ: new Float64Array(n),
    dK: new Float64Array(n),
  };
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      const lane = b * R + r;
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < bits; j++) {
          const c = r * bits + j;
          const d = D(b, r, t, j, 1, x.hardVForQ ?? false) - D(b, r, t, j, 0, x.hardVForQ ?? false);
          out.dQ[at(b, t, c)] = d;
          out.gradQ[at(b, t, c)] = slope(q[at(b, t, c)], tq) * d;
        }
      }
      for (let tau = 0; tau < T; tau++) {
        for (let m = 0; m < bits; m++) {
          const c = r * bits + m;
          let sum = 0;
          for (let t = 0; t < T; t++) if (scan.dest[lane * T + t] === tau) sum += theta(b, t, c);
          out.gradV[at(b, tau, c)] = slope(v[at(b, tau, c)], tv) * sum;
        }
      }
      for (let l = 0; l < T; l++) {
        const s = scan.kRunStart[lane * T + l];
        if (s < 0) continue;
        for (let j = 0; j < bits; j++) {
          const U = [0, 0];
          for (const beta of [0, 1]) {
            for (let t = 0; t < T; t++) {
              if (rho(b, r, t, j, beta) === l) U[beta] += D(b, r, t, j, beta, x.hardVForK ?? false);
            }
          }
          const c = r * bits + j;
          out.dK[at(b, s, c)] = U[1] - U[0];
          out.gradK[at(b, s, c)] = slope(k[at(b, s, c)], tk) * (U[1] - U[0]);
        }
      }
      for (let t = 0; t < T; t++) {
        const d = scan.dest[lane * T + t];
        if (d < 0) continue;
        for (let m = 0; m < bits; m++) {
          const c = r * bits + m;
          if (v[at(b, d, c)] > 0) out.gradE1[c] += gradY[at(b, t, c)];
          else out.gradE0[c] += gradY[at(b, t, c)];
        }
      }
    }
  }
  return out;
}

// Twin vs the literal float64 formulas: the twin accumulates in float64 too and rounds once to
// f32, so the difference is f32 rounding of values of order 1 (≤ 1e-6 relative).
const TIGHT = { atol: 1e-6, rtol: 1e-5 };

describe('ROSA sign-pack twin', () => {
  it('packs vector E (one route, bits 2) to the symbols printed in the spec', () => {
    const [e] = layerVectors();
    const dims = { B: 1, T: e.T, C: e.C, bits: e.bits };
    expect(Array.from(rosaSignPackReference(e.q, dims).subarray(0, 6))).toEqual([0, 1, 2, 3, 1, 2]);
    expect(Array.from(rosaSignPackReference(e.k, dims).subarray(0, 6))).toEqual([1, 2, 3, 1, 2, 3]);
    expect(Array.from(rosaSignPackReference(e.v, dims).subarray(0, 6))).toEqual([1, 2, 3, 0, 1, 3]);
    expect(rosaSignPackReference(e.q, dims).length).toBe(paddedLength(6));
  });

  it('maps exactly 0 and negatives to bit 0, orders lanes b·R + r, pads with zero bytes', () => {
    // B 2, T 3, C 6, bits 3: R 2 routes; value per (b, t, c) chosen so every bit pattern is known.
    const dims = { B: 2, T: 3, C: 6, bits: 3 };
    const x = new Float32Array(2 * 3 * 6);
    const want = new Uint8Array(2 * 2 * 4);
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 3; t++) {
        for (let r = 0; r < 2; r++) {
          const symbol = (b * 3 + t * 2 + r * 5) % 8;
          for (let j = 0; j < 3; j++) {
            // bit set → positive; bit clear → alternately exactly 0 and negative
            x[(b * 3 + t) * 6 + r * 3 + j] = symbol & (1 << j) ? 0.5 + j : (t + j) % 2 === 0 ? 0 : -0.25;
          }
          want[(b * 2 + r) * 4 + t] = symbol;
        }
      }
    }
    expect(Array.from(rosaSignPackReference(x, dims))).toEqual(Array.from(want));
  });

  it('rejects C not divisible by bits, bits outside 1..8 and wrong lengths, naming the field', () => {
    expect(() => rosaSignPackReference(new Float32Array(10), { B: 1, T: 2, C: 5, bits: 2 })).toThrow(
      /C = 5 is not a multiple of bits = 2/,
    );
    expect(() => rosaSignPackReference(new Float32Array(18), { B: 1, T: 2, C: 9, bits: 9 })).toThrow(
      /bits per route must be 1..8/,
    );
    expect(() => rosaSignPackReference(new Float32Array(7), { B: 1, T: 2, C: 4, bits: 2 })).toThrow(
      /x has 7 elements, expected 8/,
    );
  });
});

describe('ROSA injection twins on vector E (docs/rosa-spec.md §8 E, rosaTuningLayer)', () => {
  const [e] = layerVectors();
  const dims = { B: 1, T: e.T, C: e.C, bits: e.bits };
  const scan = vectorEScan();
  // The vector is printed to 9 decimals from float64; the twin rounds to f32 once: 1e-6 holds.
  const VEC = { atol: 1e-6, rtol: 0 };

  it('forward y', () => {
    expectClose(rosaInjectionForwardReference(e.v, e.e0, e.e1, scan.dest, dims), e.y, VEC, 'y');
  });

  it('counterfactual gradQ, gradK, gradV', () => {
    const g = rosaInjectionBackwardReference({ ...dims, ...e, scan });
    expectClose(g.gradQ, e.gradQ, VEC, 'gradQ');
    expectClose(g.gradK, e.gradK, VEC, 'gradK');
    expectClose(g.gradV, e.gradV, VEC, 'gradV');
  });

  it('gradE0/gradE1 are the masked sums of gradY by the retrieved V bit', () => {
    const g = rosaInjectionBackwardReference({ ...dims, ...e, scan });
    // dest = [-1,1,2,3,4,5]: t reads v_t, whose bits (channel 0, 1) are t1 (0,1) t2 (1,1) t3 (0,0)
    // t4 (1,0) t5 (1,1); gradY rows t1..t5 = [.5,2] [-1,1] [2,.5] [1.5,-.5] [-.5,1].
    expectClose(g.gradE0, [0.5 + 2, 0.5 - 0.5], VEC, 'gradE0');
    expectClose(g.gradE1, [-1 + 1.5 - 0.5, 2 + 1 + 1], VEC, 'gradE1');
  });
});

describe('ROSA counterfactual backward twin vs the literal §4 formulas', () => {
  const cases: Array<[RosaDims, RosaGradOptions]> = [
    [{ B: 1, T: 9, C: 4, bits: 2 }, {}],
    [{ B: 2, T: 17, C: 12, bits: 4 }, {}],
    [
      { B: 2, T: 13, C: 6, bits: 1 },
      { tempQ: 1.7, tempK: 0.6, tempV: 2.3 },
    ],
    [{ B: 1, T: 21, C: 8, bits: 4 }, { hardVForQ: true }],
    [
      { B: 2, T: 11, C: 8, bits: 2 },
      { hardVForK: true, tempV: 0.5 },
    ],
    [
      { B: 1, T: 15, C: 16, bits: 8 },
      { hardVForQ: true, hardVForK: true },
    ],
  ];
  cases.forEach(([dims, options], i) => {
    const name = `B${dims.B} T${dims.T} C${dims.C} bits${dims.bits} ${JSON.stringify(options)}`;
    it(name, () => {
      const x = randomCase(dims, 100 + 17 * i, options);
      const got = rosaInjectionBackwardReference(x);
      const want = literalBackward(x);
      expectClose(got.gradQ, want.gradQ, TIGHT, 'gradQ');
      expectClose(got.gradK, want.gradK, TIGHT, 'gradK');
      expectClose(got.gradV, want.gradV, TIGHT, 'gradV');
      expectClose(got.gradE0, want.gradE0, TIGHT, 'gradE0');
      expectClose(got.gradE1, want.gradE1, TIGHT, 'gradE1');
      // The random scans are dense enough that every kind of gradient is exercised.
      for (const a of [got.gradQ, got.gradK, got.gradV]) expect(a.some((z) => z !== 0)).toBe(true);
      // K gets gradient only at K-run starts.
      const R = rosaRoutes(dims);
      for (let b = 0; b < dims.B; b++) {
        for (let r = 0; r < R; r++) {
          const starts = new Set(
            Array.from(x.scan.kRunStart.subarray((b * R + r) * dims.T, (b * R + r + 1) * dims.T)),
          );
          for (let t = 0; t < dims.T; t++) {
            if (starts.has(t)) continue;
            for (let j = 0; j < dims.bits; j++)
              expect(got.gradK[(b * dims.T + t) * dims.C + r * dims.bits + j]).toBe(0);
          }
        }
      }
    });
  });

  it('gives zero q/k/v gradients when e0 = e1 (θ = 0, the start of training)', () => {
    const x = randomCase({ B: 1, T: 12, C: 8, bits: 4 }, 5);
    x.e1 = x.e0.slice();
    const got = rosaInjectionBackwardReference(x);
    for (const a of [got.gradQ, got.gradK, got.gradV]) expect(a.every((z) => z === 0)).toBe(true);
    expect(got.gradE0.some((z) => z !== 0) || got.gradE1.some((z) => z !== 0)).toBe(true);
  });
});

describe('finite-difference checks of the parts that are real derivatives', () => {
  const dims = { B: 2, T: 10, C: 8, bits: 2 };
  const h = 1e-4;
  // Central differences of float64 functions with h = 1e-4: truncation ~h²·|f'''| ≈ 1e-9; the
  // twin's outputs are f32, so compare at 1e-6 absolute + 1e-5 relative.
  const FD = { atol: 1e-6, rtol: 1e-5 };

  it('gradE0, gradE1: derivatives of Σ gradY·y (y is linear in e0, e1 for fixed dest and bits)', () => {
    const x = randomCase(dims, 41);
    const got = rosaInjectionBackwardReference(x);
    const loss = (e0: Float32Array, e1: Float32Array) => {
      const y = rosaInjectionForwardReference(x.v, e0, e1, x.scan.dest, dims);
      let s = 0;
      for (let i = 0; i < y.length; i++) s += x.gradY[i] * y[i];
      return s;
    };
    // Linear, so any step is exact; 0.25 keeps e ± step exactly representable around |e| < 1.
    const step = 0.25;
    for (const which of ['e0', 'e1'] as const) {
      const fd = new Float64Array(dims.C);
      for (let c = 0; c < dims.C; c++) {
        const plus = x[which].slice();
        const minus = x[which].slice();
        plus[c] += step;
        minus[c] -= step;
        fd[c] =
          which === 'e0'
            ? (loss(plus, x.e1) - loss(minus, x.e1)) / (2 * step)
            : (loss(x.e0, plus) - loss(x.e0, minus)) / (2 * step);
      }
      expectClose(which === 'e0' ? got.gradE0 : got.gradE1, fd, { atol: 1e-5, rtol: 1e-5 }, which);
    }
  });

  for (const tempV of [1, 2.5]) {
    it(`gradV = (1/T_V) ∂/∂v of the soft forward Σ g·valid·(e0 + Δ·σ(T_V·v[dest])), T_V = ${tempV}`, () => {
      const x = randomCase(dims, 43, { tempV });
      const got = rosaInjectionBackwardReference(x);
      const R = rosaRoutes(dims);
      const soft = (v: Float64Array) => {
        let s = 0;
        for (let b = 0; b < dims.B; b++) {
          for (let t = 0; t < dims.T; t++) {
            for (let c = 0; c < dims.C; c++) {
              const d = x.scan.dest[(b * R + Math.floor(c / dims.bits)) * dims.T + t];
              if (d < 0) continue;
              const p = sigmoid(tempV * v[(b * dims.T + d) * dims.C + c]);
              s += x.gradY[(b * dims.T + t) * dims.C + c] * (x.e0[c] + (x.e1[c] - x.e0[c]) * p);
            }
          }
        }
        return s;
      };
      const v = Float64Array.from(x.v);
      const fd = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const keep = v[i];
        v[i] = keep + h;
        const up = soft(v);
        v[i] = keep - h;
        const down = soft(v);
        v[i] = keep;
        fd[i] = (up - down) / (2 * h) / tempV;
      }
      expectClose(got.gradV, fd, FD, 'gradV');
    });
  }

  for (const temp of [1, 0.7]) {
    it(`chain factors: gradQ = (1/T_Q) ∂/∂q Σ [pQ·D¹ + (1 − pQ)·D⁰], gradK likewise, T = ${temp}`, () => {
      const x = randomCase(dims, 47, { tempQ: temp, tempK: temp });
      const got = rosaInjectionBackwardReference(x);
      const lit = literalBackward(x);
      // Expected contrast under a Bernoulli(p) bit: only the difference D¹ − D⁰ depends on q.
      const surrogate = (z: Float64Array, contrast: Float64Array) => {
        let s = 0;
        for (let i = 0; i < z.length; i++) s += sigmoid(temp * z[i]) * contrast[i];
        return s;
      };
      for (const [name, input, contrast, grad] of [
        ['gradQ', x.q, lit.dQ, got.gradQ],
        ['gradK', x.k, lit.dK, got.gradK],
      ] as const) {
        const z = Float64Array.from(input);
        const fd = new Float64Array(z.length);
        for (let i = 0; i < z.length; i++) {
          const keep = z[i];
          z[i] = keep + h;
          const up = surrogate(z, contrast);
          z[i] = keep - h;
          const down = surrogate(z, contrast);
          z[i] = keep;
          fd[i] = (up - down) / (2 * h) / temp;
        }
        expectClose(grad, fd, FD, name);
      }
    });
  }
});
