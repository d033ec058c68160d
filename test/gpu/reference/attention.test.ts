import { describe, expect, it } from 'vitest';
import {
  type AttentionShape,
  attentionBackwardReference,
  attentionForwardReference,
} from '../../../src/gpu/reference/attention.ts';
import { expectClose } from '../../harness/compare.ts';
import { randomArray } from '../../harness/random.ts';

/** Dense masked attention built from a full T×T score matrix: an independent check of the window rule. */
function denseAttention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  { B, T, H, D, window, scale = 1 / Math.sqrt(D) }: AttentionShape,
): Float64Array {
  const C = H * D;
  const out = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const at = (t: number) => (b * T + t) * C + h * D;
      for (let t = 0; t < T; t++) {
        const row = new Float64Array(T).fill(Number.NEGATIVE_INFINITY);
        for (let u = 0; u < T; u++) {
          if (u > t || t - u >= window) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[at(t) + d] * k[at(u) + d];
          row[u] = s * scale;
        }
        const max = Math.max(...row);
        const e = row.map((s) => Math.exp(s - max));
        const z = e.reduce((a, x) => a + x, 0);
        for (let u = 0; u < T; u++) {
          for (let d = 0; d < D; d++) out[at(t) + d] += (e[u] / z) * v[at(u) + d];
        }
      }
    }
  }
  return out;
}

function label({ B, T, H, D, window, scale }: AttentionShape): string {
  return `B=${B} T=${T} H=${H} D=${D} W=${Number.isFinite(window) ? window : '∞'}${scale ? ` scale=${scale}` : ''}`;
}

function random64(n: number, seed: number, scale = 1): Float64Array {
  return Float64Array.from(randomArray(n, seed, scale));
}

describe('attention CPU twin', () => {
  const shapes: AttentionShape[] = [
    { B: 2, T: 6, H: 2, D: 3, window: 3 },
    { B: 1, T: 7, H: 1, D: 4, window: Number.POSITIVE_INFINITY, scale: 0.7 },
    { B: 1, T: 5, H: 3, D: 2, window: 1 },
  ];

  for (const shape of shapes) {
    it(`equals dense masked softmax attention, ${label(shape)}`, () => {
      const n = shape.B * shape.T * shape.H * shape.D;
      const q = random64(n, 1, 2);
      const k = random64(n, 2);
      const v = random64(n, 3);
      const { out } = attentionForwardReference(q, k, v, shape, Float64Array);
      // Same maths, different summation order: float64 rounding only.
      expectClose(out, denseAttention(q, k, v, shape), { atol: 1e-12, rtol: 1e-12 }, 'out');
    });

    // Central differences of the scalar loss Σ g·out in float64 with h = 1e-5: truncation error
    // ~h²·|f'''| ≈ 1e-10 and rounding ~1e-16/h ≈ 1e-11, so 1e-7 absolute is a safe bound while
    // any wrong term (a missing Δ, a wrong scale, a mask off by one) is off by ≥ 1e-2.
    it(`gradients match finite differences, ${label(shape)}`, () => {
      const n = shape.B * shape.T * shape.H * shape.D;
      const inputs = { q: random64(n, 11, 2), k: random64(n, 12), v: random64(n, 13) };
      const g = random64(n, 14);
      const loss = () => {
        const { out } = attentionForwardReference(inputs.q, inputs.k, inputs.v, shape, Float64Array);
        return out.reduce((acc, x, i) => acc + g[i] * x, 0);
      };
      const { out, lse } = attentionForwardReference(inputs.q, inputs.k, inputs.v, shape, Float64Array);
      const grads = attentionBackwardReference(
        inputs.q,
        inputs.k,
        inputs.v,
        out,
        lse,
        g,
        shape,
        Float64Array,
      );
      const h = 1e-5;
      for (const [name, x, analytic] of [
        ['q', inputs.q, grads.dq],
        ['k', inputs.k, grads.dk],
        ['v', inputs.v, grads.dv],
      ] as const) {
        const numeric = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const x0 = x[i];
          x[i] = x0 + h;
          const plus = loss();
          x[i] = x0 - h;
          const minus = loss();
          x[i] = x0;
          numeric[i] = (plus - minus) / (2 * h);
        }
        expectClose(analytic, numeric, { atol: 1e-7, rtol: 1e-6 }, `d${name}`);
      }
    });
  }

  it('window 1 copies v and puts the own score in lse', () => {
    const shape: AttentionShape = { B: 2, T: 4, H: 2, D: 3, window: 1, scale: 0.5 };
    const n = 2 * 4 * 2 * 3;
    const q = randomArray(n, 5);
    const k = randomArray(n, 6);
    const v = randomArray(n, 7);
    const { out, lse } = attentionForwardReference(q, k, v, shape);
    expectClose(out, v, { atol: 1e-7, rtol: 0 }, 'out');
    for (let b = 0; b < 2; b++) {
      for (let h = 0; h < 2; h++) {
        for (let t = 0; t < 4; t++) {
          const at = (b * 4 + t) * 6 + h * 3;
          let s = 0;
          for (let d = 0; d < 3; d++) s += q[at + d] * k[at + d];
          expect(lse[(b * 2 + h) * 4 + t]).toBeCloseTo(0.5 * s, 6);
        }
      }
    }
  });

  it('any window ≥ T is global attention', () => {
    const base = { B: 1, T: 9, H: 2, D: 4 };
    const n = 9 * 8;
    const [q, k, v] = [randomArray(n, 21), randomArray(n, 22), randomArray(n, 23)];
    const global = attentionForwardReference(q, k, v, { ...base, window: Number.POSITIVE_INFINITY });
    for (const window of [9, 10, 1000]) {
      const r = attentionForwardReference(q, k, v, { ...base, window });
      expectClose(r.out, global.out, { atol: 0, rtol: 0 }, `out W=${window}`);
      expectClose(r.lse, global.lse, { atol: 0, rtol: 0 }, `lse W=${window}`);
    }
    const narrower = attentionForwardReference(q, k, v, { ...base, window: 8 });
    expect(narrower.out[8 * 8]).not.toBe(global.out[8 * 8]); // the last query lost key 0
  });

  it('query t sees exactly keys t − W + 1 .. t', () => {
    const shape: AttentionShape = { B: 1, T: 10, H: 1, D: 2, window: 4 };
    const q = randomArray(20, 31);
    const k = randomArray(20, 32);
    const v = randomArray(20, 33);
    const base = attentionForwardReference(q, k, v, shape).out;
    const t = 7;
    for (let u = 0; u < 10; u++) {
      const v2 = v.slice();
      v2[u * 2] += 1;
      const changed = attentionForwardReference(q, k, v2, shape).out[t * 2] !== base[t * 2];
      expect(changed, `key ${u} visible to query ${t}`).toBe(u <= t && t - u < 4);
    }
  });

  it('rejects bad shapes', () => {
    const x = new Float32Array(8);
    expect(() => attentionForwardReference(x, x, x, { B: 1, T: 2, H: 1, D: 4, window: 0 })).toThrow(/window/);
    expect(() => attentionForwardReference(x, x, x, { B: 1, T: 3, H: 1, D: 4, window: 2 })).toThrow(
      /q has 8 elements, needs 12/,
    );
  });
});
