import { describe, expect, it } from 'vitest';
import {
  type LrsaShape,
  lagkvKeepCount,
  lagkvSelectReference,
  lrsaAttentionBackwardReference,
  lrsaAttentionForwardReference,
  lrsaChunkCounts,
  lrsaKeyQueryEnd,
  lrsaVisibleKeys,
  lrsaVisibleMask,
  lrsaVisiblePairs,
} from '../../../src/gpu/reference/lrsa.ts';
import { expectClose } from '../../harness/compare.ts';
import { randomArray } from '../../harness/random.ts';

function shapeOf(
  partial: Partial<LrsaShape> & Pick<LrsaShape, 'seqLen' | 'chunk' | 'sink' | 'keep'>,
): LrsaShape {
  return { batch: 1, heads: 1, headDim: 4, ...partial };
}

/** Independent float64 LagKV score of one chunk, straight from §1.2 (no f32 rounding). */
function lagkvScoresF64(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  shape: LrsaShape,
  b: number,
  h: number,
  i: number,
  r: number,
  eps: number,
): number[] {
  const { seqLen: T, heads: H, headDim: D, sink: S, chunk: L } = shape;
  const C = H * D;
  const softStd = (a: ArrayLike<number>) => {
    const at = (t: number, d: number) => a[(b * T + t) * C + h * D + d];
    const start = S + i * L;
    const sigma: number[] = [];
    for (let l = 0; l < L; l++) {
      const n: number[] = [];
      for (let d = 0; d < D; d++) {
        const ref = Array.from({ length: L }, (_, j) => at(start + L + j, d));
        const lo = Math.min(...ref);
        n.push((at(start + l, d) - lo) / (Math.max(...ref) - lo + eps));
      }
      const mean = n.reduce((s, z) => s + z, 0) / D;
      sigma.push(Math.sqrt(n.reduce((s, z) => s + (z - mean) ** 2, 0) / (D - 1)));
    }
    const mx = Math.max(...sigma);
    const e = sigma.map((s) => Math.exp(s - mx));
    const sum = e.reduce((s, z) => s + z, 0);
    return e.map((z) => z / sum);
  };
  const sK = softStd(x);
  const sV = softStd(y);
  return sK.map((s, l) => s + r * sV[l]);
}

/** Plain softmax attention under a 0/1 mask, float64: the brute-force check of the twin. */
function maskedAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  mask: Uint8Array,
  shape: LrsaShape,
): { out: Float64Array; lse: Float64Array } {
  const { batch: B, seqLen: T, heads: H, headDim: D } = shape;
  const C = H * D;
  const out = new Float64Array(B * T * C);
  const lse = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        const logits = new Float64Array(T).fill(-Infinity);
        for (let u = 0; u < T; u++) {
          if (!mask[((b * H + h) * T + t) * T + u]) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[(b * T + t) * C + h * D + d] * k[(b * T + u) * C + h * D + d];
          logits[u] = s / Math.sqrt(D);
        }
        const mx = Math.max(...logits);
        let sum = 0;
        for (let u = 0; u < T; u++) sum += Math.exp(logits[u] - mx);
        for (let u = 0; u < T; u++) {
          const p = Math.exp(logits[u] - mx) / sum;
          for (let d = 0; d < D; d++) out[(b * T + t) * C + h * D + d] += p * v[(b * T + u) * C + h * D + d];
        }
        lse[(b * H + h) * T + t] = mx + Math.log(sum);
      }
  return { out, lse };
}

function randomInputs(shape: LrsaShape, seed: number) {
  const n = shape.batch * shape.seqLen * shape.heads * shape.headDim;
  return { q: randomArray(n, seed), k: randomArray(n, seed + 1), v: randomArray(n, seed + 2) };
}

// Awkward shapes: tail after the last full chunk, T < S + 2L, no sink, keep 0 and keep = L.
const SHAPES: LrsaShape[] = [
  shapeOf({ seqLen: 23, sink: 1, chunk: 4, keep: 1, heads: 2, headDim: 3 }),
  shapeOf({ seqLen: 30, sink: 0, chunk: 5, keep: 2, batch: 2 }),
  shapeOf({ seqLen: 9, sink: 2, chunk: 4, keep: 1 }),
  shapeOf({ seqLen: 26, sink: 4, chunk: 3, keep: 0, heads: 2, headDim: 2 }),
  shapeOf({ seqLen: 21, sink: 1, chunk: 4, keep: 4, headDim: 5 }),
];

describe('LagKV selection twin', () => {
  it('keep count is int(ratio · L)', () => {
    expect(lagkvKeepCount(32, 0.25)).toBe(8);
    expect(lagkvKeepCount(16, 0.2)).toBe(3);
    expect(lagkvKeepCount(10, 0.29)).toBe(2);
    expect(lagkvKeepCount(4, 1.5)).toBe(4);
  });

  it('chunk counts follow the schedule', () => {
    expect(lrsaChunkCounts(shapeOf({ seqLen: 23, sink: 1, chunk: 4, keep: 1 }))).toEqual({
      fullChunks: 5,
      scoredChunks: 4,
      firstWindowEnd: 9,
    });
    expect(lrsaChunkCounts(shapeOf({ seqLen: 3, sink: 4, chunk: 4, keep: 1 })).scoredChunks).toBe(0);
  });

  it('scores match an independent float64 LagKV and selection is the top-k with the tie-break', () => {
    const shape = shapeOf({ seqLen: 45, sink: 3, chunk: 8, keep: 3, heads: 2, headDim: 5, batch: 2 });
    const { k, v } = randomInputs(shape, 11);
    const r = 0.7;
    const { selected, scores } = lagkvSelectReference(k, v, shape, { scoreVRatio: r, epsilon: 1e-6 });
    const { scoredChunks: P } = lrsaChunkCounts(shape);
    expect(P).toBe(4);
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 2; h++)
        for (let i = 0; i < P; i++) {
          const want = lagkvScoresF64(k, v, shape, b, h, i, r, 1e-6);
          const got = scores.subarray(((b * 2 + h) * P + i) * 8, ((b * 2 + h) * P + i + 1) * 8);
          // f32 rounding of ~20 operations per score.
          expectClose(got, want, { atol: 1e-6, rtol: 1e-5 }, `scores b${b} h${h} chunk ${i}`);
          const picked = Array.from(
            selected.subarray(((b * 2 + h) * P + i) * 3, ((b * 2 + h) * P + i + 1) * 3),
          );
          const order = want.map((s, l) => ({ s, l })).sort((x, y) => y.s - x.s || x.l - y.l);
          const expected = order
            .slice(0, 3)
            .map((o) => 3 + i * 8 + o.l)
            .sort((x, y) => x - y);
          expect(picked).toEqual(expected);
        }
  });

  it('ties break towards lower positions; a constant reference chunk gives finite scores', () => {
    const shape = shapeOf({ seqLen: 1 + 3 * 6, sink: 1, chunk: 6, keep: 2, headDim: 3 });
    const { k, v } = randomInputs(shape, 5);
    const C = 3;
    // Chunk 1 (the reference of chunk 0) and chunk 0 are one repeated vector: every score ties.
    for (let t = 1; t < 13; t++)
      for (let d = 0; d < C; d++) {
        k[t * C + d] = 0.3 * (d + 1);
        v[t * C + d] = -0.2 * d;
      }
    // Chunk 2 (the reference of chunk 1) is constant too, but chunk 1 is compared against a
    // different constant: the epsilon path with 0/ε and (x − ref)/ε.
    for (let t = 13; t < 19; t++)
      for (let d = 0; d < C; d++) {
        k[t * C + d] = 0.5;
        v[t * C + d] = d;
      }
    const { selected, scores } = lagkvSelectReference(k, v, shape);
    for (const s of scores) expect(Number.isFinite(s)).toBe(true);
    expect(Array.from(selected.subarray(0, 2))).toEqual([1, 2]);
    // Equal tokens: uniform softmax 1/L for K and for V.
    expectClose(scores.subarray(0, 6), new Array(6).fill(2 / 6), { atol: 1e-7, rtol: 0 }, 'tied scores');
  });

  it('selection of chunk i ignores everything after chunk i+1 (causal)', () => {
    const shape = shapeOf({ seqLen: 29, sink: 1, chunk: 4, keep: 2, headDim: 4 });
    const { k, v } = randomInputs(shape, 21);
    const a = lagkvSelectReference(k, v, shape);
    const k2 = k.slice();
    const v2 = v.slice();
    // Change everything from chunk 3 on: Sel_0 and Sel_1 must not move.
    for (let i = (1 + 3 * 4) * 4; i < k.length; i++) {
      k2[i] = -k2[i] * 3;
      v2[i] += 1;
    }
    const b = lagkvSelectReference(k2, v2, shape);
    expect(Array.from(b.selected.subarray(0, 4))).toEqual(Array.from(a.selected.subarray(0, 4)));
  });
});

describe('LRSA visible sets', () => {
  for (const [n, shape] of SHAPES.entries()) {
    it(`query-side mask, gather lists and key-side ranges agree (shape ${n})`, () => {
      const { k, v } = randomInputs(shape, 100 + n);
      const { selected } = lagkvSelectReference(k, v, shape);
      const mask = lrsaVisibleMask(selected, shape);
      const { batch: B, seqLen: T, heads: H, keep } = shape;
      const P = lrsaChunkCounts(shape).scoredChunks;
      let pairs = 0;
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++) {
          const kept = new Set(
            Array.from(selected.subarray((b * H + h) * P * keep, (b * H + h + 1) * P * keep)),
          );
          for (let t = 0; t < T; t++) {
            const row = Array.from(mask.subarray(((b * H + h) * T + t) * T, ((b * H + h) * T + t + 1) * T));
            const fromList = new Array(T).fill(0);
            const keys = lrsaVisibleKeys(selected, shape, b, h, t);
            for (const u of keys) fromList[u] = 1;
            expect(keys).toEqual([...keys].sort((x, y) => x - y)); // ascending, no duplicates
            expect(new Set(keys).size).toBe(keys.length);
            expect(fromList).toEqual(row);
            pairs += keys.length;
            for (let u = 0; u < T; u++) {
              const end = lrsaKeyQueryEnd(u, kept.has(u), shape);
              expect(row[u]).toBe(u <= t && t < end ? 1 : 0);
            }
          }
        }
      expect(pairs).toBe(B * H * lrsaVisiblePairs(shape));
    });
  }

  it('a long sequence sees about ratio · T²/2 pairs', () => {
    const shape = shapeOf({ seqLen: 2048, sink: 4, chunk: 32, keep: 8 });
    const dense = (2048 * 2049) / 2;
    const ratio = lrsaVisiblePairs(shape) / dense;
    expect(ratio).toBeGreaterThan(0.25);
    expect(ratio).toBeLessThan(0.25 + (2 * (4 + 2 * 32)) / 2048);
  });
});

describe('LRSA attention twin', () => {
  for (const [n, shape] of SHAPES.entries()) {
    it(`forward equals masked softmax attention (shape ${n})`, () => {
      const { q, k, v } = randomInputs(shape, 200 + n);
      const { selected } = lagkvSelectReference(k, v, shape);
      const got = lrsaAttentionForwardReference(q, k, v, selected, shape, { precision: 'f64' });
      const want = maskedAttention(q, k, v, lrsaVisibleMask(selected, shape), shape);
      // Both float64, different summation order.
      expectClose(got.out, want.out, { atol: 1e-12, rtol: 1e-10 }, 'out');
      expectClose(got.lse, want.lse, { atol: 1e-12, rtol: 1e-10 }, 'lse');
    });
  }

  it('out at t does not depend on anything after t (selection included)', () => {
    const shape = shapeOf({ seqLen: 26, sink: 1, chunk: 4, keep: 2, heads: 2, headDim: 3 });
    const { q, k, v } = randomInputs(shape, 300);
    const run = (qq: Float32Array, kk: Float32Array, vv: Float32Array) =>
      lrsaAttentionForwardReference(qq, kk, vv, lagkvSelectReference(kk, vv, shape).selected, shape).out;
    const base = run(q, k, v);
    const t = 17;
    const C = 6;
    const [q2, k2, v2] = [q.slice(), k.slice(), v.slice()];
    for (let i = (t + 1) * C; i < q.length; i++) {
      q2[i] = 2 * q2[i] + 1;
      k2[i] = -k2[i];
      v2[i] += 3;
    }
    const changed = run(q2, k2, v2);
    expect(Array.from(changed.subarray(0, (t + 1) * C))).toEqual(Array.from(base.subarray(0, (t + 1) * C)));
    expect(changed[(t + 1) * C]).not.toBe(base[(t + 1) * C]);
  });

  // Central differences on L = Σ g·out in float64, selection fixed. h = 1e-5 gives truncation
  // ~h²·|f'''| ≈ 1e-10 and round-off ~1e-16/h ≈ 1e-11, so 1e-7 absolute is a wide margin
  // that still catches any missing or misrouted term (those are O(0.01–1)).
  const FD_SHAPES: LrsaShape[] = [
    shapeOf({ seqLen: 14, sink: 1, chunk: 3, keep: 1, heads: 2, headDim: 3 }),
    shapeOf({ seqLen: 17, sink: 0, chunk: 4, keep: 2, batch: 2, headDim: 2 }),
    shapeOf({ seqLen: 7, sink: 2, chunk: 3, keep: 1 }),
  ];
  for (const [n, shape] of FD_SHAPES.entries()) {
    it(`backward matches finite differences (shape ${n})`, () => {
      const { q, k, v } = randomInputs(shape, 400 + n);
      const { selected } = lagkvSelectReference(k, v, shape);
      const inputs = [Float64Array.from(q), Float64Array.from(k), Float64Array.from(v)];
      const g = Float64Array.from(randomArray(q.length, 500 + n));
      const loss = () => {
        const { out } = lrsaAttentionForwardReference(inputs[0], inputs[1], inputs[2], selected, shape, {
          precision: 'f64',
        });
        let s = 0;
        for (let i = 0; i < out.length; i++) s += g[i] * out[i];
        return s;
      };
      const fwd = lrsaAttentionForwardReference(inputs[0], inputs[1], inputs[2], selected, shape, {
        precision: 'f64',
      });
      const grads = lrsaAttentionBackwardReference(
        inputs[0],
        inputs[1],
        inputs[2],
        selected,
        fwd.out,
        fwd.lse,
        g,
        shape,
        { precision: 'f64' },
      );
      const analytic = [grads.dq, grads.dk, grads.dv];
      const h = 1e-5;
      ['dq', 'dk', 'dv'].forEach((name, which) => {
        const x = inputs[which];
        const numeric = new Float64Array(x.length);
        for (let i = 0; i < x.length; i++) {
          const keepValue = x[i];
          x[i] = keepValue + h;
          const up = loss();
          x[i] = keepValue - h;
          const down = loss();
          x[i] = keepValue;
          numeric[i] = (up - down) / (2 * h);
        }
        expectClose(analytic[which], numeric, { atol: 1e-7, rtol: 1e-6 }, name);
        // The check must be able to fail: gradients are not all (near) zero.
        expect(Math.max(...Array.from(numeric, Math.abs))).toBeGreaterThan(1e-2);
      });
    });
  }
});
