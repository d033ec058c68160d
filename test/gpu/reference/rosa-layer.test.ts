import { describe, expect, it } from 'vitest';
import { linearForward } from '../../../src/gpu/reference/matmul.ts';
import {
  rosaLayerBackward,
  rosaLayerForward,
  rosaRoutes,
  rosaSignPackReference,
} from '../../../src/gpu/reference/rosa.ts';
import type { RosaMode } from '../../../src/rosa-worker/layout.ts';
import { rosaQkv, rosaTuningScan } from '../../../src/rosa-worker/scan.ts';
import { expectClose } from '../../harness/compare.ts';
import { randomArray } from '../../harness/random.ts';
import { activations, layerVectors, vectorEScan } from '../../harness/rosa-fixtures.ts';

function randomLayer(T: number, C: number, bits: number, seed: number) {
  return {
    T,
    C,
    bits,
    q: activations(T * C, seed),
    k: activations(T * C, seed + 1),
    v: activations(T * C, seed + 2),
    e0: randomArray(C, seed + 3),
    e1: randomArray(C, seed + 4),
    gradY: randomArray(T * C, seed + 5),
  };
}

/** Symbols of route r as a plain array (the packed rows are [R][Tpad]). */
function routeSymbols(packed: Uint8Array, r: number, T: number): number[] {
  const Tpad = Math.ceil(T / 4) * 4;
  return Array.from(packed.subarray(r * Tpad, r * Tpad + T));
}

describe('the whole ROSA layer twin (rosaLayerForward / rosaLayerBackward)', () => {
  it('reproduces rosaTuningLayer (vector E) to 1e-5: y, gradQ, gradK, gradV', () => {
    for (const e of layerVectors()) {
      const inputs = { q: e.q, k: e.k, v: e.v, e0: e.e0, e1: e.e1, T: e.T, C: e.C, bits: e.bits };
      const fwd = rosaLayerForward(inputs);
      const bwd = rosaLayerBackward({ ...inputs, gradY: e.gradY });
      const tol = { atol: 1e-5, rtol: 0 };
      expectClose(fwd.y, e.y, tol, 'y');
      expectClose(bwd.gradQ, e.gradQ, tol, 'gradQ');
      expectClose(bwd.gradK, e.gradK, tol, 'gradK');
      expectClose(bwd.gradV, e.gradV, tol, 'gradV');
    }
  });

  it('runs the scan printed in docs/rosa-spec.md §8 E on vector E', () => {
    const [e] = layerVectors();
    const fwd = rosaLayerForward({ ...e });
    const want = vectorEScan();
    expect(Array.from(fwd.dest)).toEqual(Array.from(want.dest));
    expect(Array.from(fwd.scan.qRunId)).toEqual(Array.from(want.qRunId));
    expect(Array.from(fwd.scan.kRunStart)).toEqual(Array.from(want.kRunStart));
    expect(Array.from(fwd.scan.rcf)).toEqual(Array.from(want.rcf));
    expect(Array.from(fwd.matched)).toEqual([0, 1, 1, 1, 1, 1]);
  });

  it("mode 'rwkv8' retrieves BlinkDL's rosaQkv position per route; 'exact' the exact scan's", () => {
    const T = 40;
    const C = 12;
    const bits = 2;
    // Few distinct rows so that contexts repeat and long matches exist.
    const base = randomLayer(T, C, bits, 61);
    const r0 = randomLayer(5, C, bits, 62);
    for (let t = 0; t < T; t++) {
      const src = (t * 7 + (t >> 3)) % 5;
      base.q.set(r0.q.subarray(src * C, src * C + C), t * C);
      base.k.set(r0.k.subarray(((src + 1) % 5) * C, ((src + 1) % 5) * C + C), t * C);
    }
    const dims = { B: 1, T, C, bits };
    const qSym = rosaSignPackReference(base.q, dims);
    const kSym = rosaSignPackReference(base.k, dims);
    const iota = Array.from({ length: T }, (_, t) => t);
    const rwkv8 = rosaLayerForward({ ...base, mode: 'rwkv8' });
    const exact = rosaLayerForward({ ...base, mode: 'exact' });
    let matches = 0;
    for (let r = 0; r < rosaRoutes(dims); r++) {
      const qs = routeSymbols(qSym, r, T);
      const ks = routeSymbols(kSym, r, T);
      const want = Array.from(rosaQkv(qs, ks, iota).y);
      expect(Array.from(rwkv8.dest.subarray(r * T, r * T + T))).toEqual(want);
      matches += want.filter((d) => d >= 0).length;
      const wantExact = Array.from(rosaTuningScan(qs, ks, bits, 'exact').dest);
      expect(Array.from(exact.dest.subarray(r * T, r * T + T))).toEqual(wantExact);
    }
    expect(matches).toBeGreaterThan(T);
    // y reads v at dest in every mode.
    for (let r = 0; r < rosaRoutes(dims); r++) {
      for (let t = 0; t < T; t++) {
        const d = rwkv8.dest[r * T + t];
        for (let j = 0; j < bits; j++) {
          const c = r * bits + j;
          const want = d < 0 ? 0 : base.v[d * C + c] > 0 ? base.e1[c] : base.e0[c];
          expect(rwkv8.y[t * C + c]).toBe(Math.fround(want));
        }
      }
    }
  });

  it("defaults to mode 'rosa-tuning', and the three modes differ on repetitive input", () => {
    const x = randomLayer(48, 8, 4, 71);
    // q repeats k eight steps later, so long contexts recur.
    for (let t = 8; t < 48; t++) x.q.set(x.k.subarray((t - 8) * 8, (t - 7) * 8), t * 8);
    const def = rosaLayerForward(x);
    const byMode = (mode: RosaMode) => Array.from(rosaLayerForward({ ...x, mode }).dest);
    expect(Array.from(def.dest)).toEqual(byMode('rosa-tuning'));
    expect(byMode('rwkv8')).not.toEqual(byMode('rosa-tuning'));
  });

  it('applies W_out: identity gives y; gradInjection goes through W_out and gives gradWOut', () => {
    const T = 9;
    const C = 8;
    const x = randomLayer(T, C, 2, 81);
    const identity = new Float32Array(C * C);
    for (let c = 0; c < C; c++) identity[c * C + c] = 1;
    expect(Array.from(rosaLayerForward({ ...x, wOut: identity }).injection!)).toEqual(
      Array.from(rosaLayerForward(x).y),
    );

    const wOut = randomArray(C * C, 82);
    const fwd = rosaLayerForward({ ...x, wOut });
    expectClose(fwd.injection!, linearForward(fwd.y, wOut, T, C, C), { atol: 1e-6, rtol: 1e-6 }, 'injection');
    const gradInjection = randomArray(T * C, 83);
    const { gradY: _unused, ...noGradY } = x;
    const viaInjection = rosaLayerBackward({ ...noGradY, wOut, gradInjection });
    // gradY = gradInjection · W_out, then the same counterfactual backward.
    const gradY = new Float32Array(T * C);
    for (let t = 0; t < T; t++)
      for (let i = 0; i < C; i++) {
        let s = 0;
        for (let o = 0; o < C; o++) s += gradInjection[t * C + o] * wOut[o * C + i];
        gradY[t * C + i] = s;
      }
    const direct = rosaLayerBackward({ ...noGradY, gradY });
    for (const name of ['gradQ', 'gradK', 'gradV', 'gradE0', 'gradE1'] as const)
      expectClose(viaInjection[name], direct[name], { atol: 1e-6, rtol: 1e-5 }, name);
    // gradWOut by finite differences of Σ gradInjection · (y · W_outᵀ): linear in W_out, so the
    // central difference is exact up to float64 rounding.
    const loss = (w: Float32Array) => {
      const inj = linearForward(fwd.y, w, T, C, C);
      let s = 0;
      for (let i = 0; i < inj.length; i++) s += gradInjection[i] * inj[i];
      return s;
    };
    const fd = new Float64Array(C * C);
    for (let i = 0; i < C * C; i++) {
      const plus = wOut.slice();
      const minus = wOut.slice();
      plus[i] += 0.25;
      minus[i] -= 0.25;
      fd[i] = (loss(plus) - loss(minus)) / 0.5;
    }
    expectClose(viaInjection.gradWOut!, fd, { atol: 1e-5, rtol: 1e-5 }, 'gradWOut');
  });

  it('rejects inconsistent inputs with messages that name the field', () => {
    const x = randomLayer(4, 6, 2, 91);
    expect(() => rosaLayerForward({ ...x, bits: 4 })).toThrow(/C = 6 is not a multiple of bits = 4/);
    expect(() => rosaLayerForward({ ...x, wOut: new Float32Array(5) })).toThrow(
      /wOut has 5 elements, expected 36/,
    );
    const { gradY: _g, ...noGradY } = x;
    expect(() => rosaLayerBackward(noGradY)).toThrow(/gradY \(or gradInjection with wOut\) is required/);
    expect(() => rosaLayerBackward({ ...noGradY, gradInjection: x.gradY })).toThrow(
      /gradInjection needs wOut/,
    );
    expect(() => rosaLayerForward({ ...x, q: x.q.subarray(1) })).toThrow(
      /rosaLayerForward: q has 23 elements, expected 24/,
    );
  });
});
