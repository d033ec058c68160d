import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { attentionBackward, attentionForward, attentionTile } from '../../src/gpu/ops/attention.ts';
import {
  type AttentionShape,
  attentionBackwardReference,
  attentionDeltaReference,
  attentionForwardReference,
} from '../../src/gpu/reference/attention.ts';
import {
  createTensor,
  destroyTensors,
  readTensor,
  type Tensor,
  tensorSlices,
  writeTensor,
} from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// Tolerances. The kernel sums in f32 in another order than the float64 twin: dot products of
// D ≤ 128 terms and softmax sums over ≤ 130 keys give rounding errors of a few 1e-7 in out and
// lse (|lse| ≲ 6); gradients add one more sum over ≤ 130 queries. Observed on SwiftShader:
// max abs error 9.5e-7 (out, lse) and 1.1e-6 (dq, dk, dv, |dv| up to ~10). The bounds sit
// 5-20× above that, far below the O(0.1) errors any masking or tiling bug produces.
const TOL_OUT = { atol: 5e-6, rtol: 1e-5 };
const TOL_GRAD = { atol: 2e-5, rtol: 1e-4 };

interface Case {
  B: number;
  T: number;
  H: number;
  D: number;
  window: number;
  /** Rows per workgroup-memory tile; the default for D when left out. */
  tile?: number;
  /** Magnitude of q (large values give peaked softmaxes that stress the online max). */
  qScale?: number;
  /** q, k, v and dq, dk, dv as slices of one buffer each (the model's strided q/k/v group). */
  slices?: boolean;
}

// A cross-product sample over T ∈ {1, 7, 64, 130}, W ∈ {1, 16, ≥ T}, C ∈ {8, 12, 64},
// H ∈ {1, 2}, B ∈ {1, 2}, plus small tiles (5, 15) whose edges fall mid-window, and D = 128.
const CASES: Case[] = [
  { B: 1, T: 1, H: 1, D: 8, window: 16 },
  { B: 2, T: 7, H: 2, D: 6, window: 1 },
  { B: 1, T: 7, H: 2, D: 4, window: Number.POSITIVE_INFINITY },
  { B: 2, T: 7, H: 1, D: 12, window: 16, tile: 3 },
  { B: 2, T: 64, H: 2, D: 32, window: 16, qScale: 3 },
  { B: 1, T: 64, H: 1, D: 8, window: 64 },
  { B: 1, T: 130, H: 1, D: 64, window: 16 },
  { B: 1, T: 130, H: 2, D: 32, window: Number.POSITIVE_INFINITY, qScale: 3 },
  { B: 2, T: 130, H: 2, D: 6, window: 16, tile: 5 },
  { B: 1, T: 130, H: 2, D: 4, window: 1 },
  { B: 1, T: 130, H: 1, D: 64, window: 200, tile: 15 },
  { B: 1, T: 70, H: 1, D: 128, window: 40 },
  { B: 2, T: 7, H: 2, D: 6, window: 3, slices: true },
];

let ctx: GpuContext;

function describeCase(c: Case): string {
  const w = Number.isFinite(c.window) ? c.window : '∞';
  return `B=${c.B} T=${c.T} H=${c.H} D=${c.D} (C=${c.H * c.D}) W=${w}${c.tile ? ` tile=${c.tile}` : ''}${c.qScale ? ` |q|≤${c.qScale}` : ''}${c.slices ? ' q/k/v and dq/dk/dv sliced from one buffer each' : ''}`;
}

async function runCase(c: Case, seed: number): Promise<void> {
  const shape: AttentionShape = { B: c.B, T: c.T, H: c.H, D: c.D, window: c.window };
  const n = c.B * c.T * c.H * c.D;
  const stats = c.B * c.H * c.T;
  const q = randomArray(n, seed, c.qScale ?? 1);
  const k = randomArray(n, seed + 1);
  const v = randomArray(n, seed + 2);
  const dout = randomArray(n, seed + 3);
  const make = (name: string, data?: Float32Array, length = n): Tensor =>
    createTensor(ctx, [length], 'f32', name, data);
  const group = (names: string[], data: Array<Float32Array | undefined>): Tensor[] => {
    if (!c.slices) return names.map((name, i) => make(name, data[i]));
    const sliced = tensorSlices(ctx, [n, n, n], names.join('+'), names)!;
    for (const [i, slice] of sliced.slices.entries()) {
      const values = data[i];
      if (values) writeTensor(ctx, slice, values);
    }
    wholes.push(sliced.whole);
    return sliced.slices;
  };
  const wholes: Tensor[] = [];
  const [tq, tk, tv] = group(['q', 'k', 'v'], [q, k, v]);
  const [tdq, tdk, tdv] = group(['dq', 'dk', 'dv'], [undefined, undefined, undefined]);
  const t = {
    q: tq,
    k: tk,
    v: tv,
    out: make('out'),
    lse: make('lse', undefined, stats),
    dout: make('dout', dout),
    delta: make('delta', undefined, stats),
    dq: tdq,
    dk: tdk,
    dv: tdv,
  };
  const options = c.tile ? { tile: c.tile } : {};
  const dispatchesBefore = ctx.counters.dispatches;
  await runBatch(ctx, 'attention test', (batch) => {
    attentionForward(batch, t, shape, options);
    attentionBackward(batch, t, shape, options);
  });
  // Forward, then dq with delta folded in, then dk/dv: no pass of its own for delta.
  expect(ctx.counters.dispatches - dispatchesBefore).toBe(3);
  const got = {
    out: await readTensor(ctx, t.out),
    lse: await readTensor(ctx, t.lse),
    delta: await readTensor(ctx, t.delta),
    dq: await readTensor(ctx, t.dq),
    dk: await readTensor(ctx, t.dk),
    dv: await readTensor(ctx, t.dv),
  };
  destroyTensors(...(c.slices ? [...wholes, t.out, t.lse, t.dout, t.delta] : Object.values(t)));

  const fwd = attentionForwardReference(q, k, v, shape);
  const bwd = attentionBackwardReference(q, k, v, fwd.out, fwd.lse, dout, shape);
  const name = describeCase(c);
  expectClose(got.out, fwd.out, TOL_OUT, `${name} out`);
  expectClose(got.lse, fwd.lse, TOL_OUT, `${name} lse`);
  expectClose(got.delta, attentionDeltaReference(fwd.out, dout, shape), TOL_OUT, `${name} delta`);
  expectClose(got.dq, bwd.dq, TOL_GRAD, `${name} dq`);
  expectClose(got.dk, bwd.dk, TOL_GRAD, `${name} dk`);
  expectClose(got.dv, bwd.dv, TOL_GRAD, `${name} dv`);
}

describe('attention kernels vs CPU twin', () => {
  it('gets a WebGPU adapter', async () => {
    ctx = await testGpu();
    expect(ctx.adapter.limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
  });

  CASES.forEach((c, i) => {
    it(describeCase(c), async () => {
      ctx = await testGpu();
      await runCase(c, 1000 + 17 * i);
    });
  });

  it('tiles fit 16 KiB of workgroup memory for every head dimension', () => {
    for (let D = 1; D <= 128; D++) {
      const tile = attentionTile(D);
      expect(tile).toBeGreaterThanOrEqual(15);
      expect(4 * (2 * tile * D + 2 * tile)).toBeLessThanOrEqual(16384);
    }
  });

  it('rejects bad shapes and aliased outputs with clear messages', async () => {
    ctx = await testGpu();
    const small = createTensor(ctx, [8], 'f32', 'small');
    const big = createTensor(ctx, [64], 'f32', 'big');
    const shape: AttentionShape = { B: 1, T: 4, H: 1, D: 4, window: 2 };
    await runBatch(ctx, 'attention validation', (batch) => {
      const fwd = { q: big, k: big, v: big, out: small, lse: small };
      expect(() => attentionForward(batch, fwd, shape)).toThrow(/out "small" has 8 elements, needs 16/);
      const aliased = { q: big, k: big, v: big, out: big, lse: small };
      expect(() => attentionForward(batch, aliased, shape)).toThrow(/out and q must be different buffers/);
      // Written tensors may share a buffer only where they do not overlap.
      const grads = tensorSlices(ctx, [16, 16], 'grads', ['g0', 'g1'])!;
      const [g0, g1] = grads.slices;
      const delta = createTensor(ctx, [8], 'f32', 'delta');
      const bwd = { q: big, k: big, v: big, out: big, lse: small, dout: big, delta };
      expect(() => attentionBackward(batch, { ...bwd, dq: g0, dk: g0, dv: g1 }, shape)).toThrow(
        /dq and dk must be different buffers/,
      );
      expect(() => attentionBackward(batch, { ...bwd, dq: g0, dk: grads.whole, dv: g1 }, shape)).toThrow(
        /must be different buffers/,
      );
      destroyTensors(grads.whole, delta);
      const ok = { q: big, k: big, v: big, out: createTensor(ctx, [16], 'f32', 'o'), lse: small };
      expect(() => attentionForward(batch, ok, { ...shape, D: 130 })).toThrow(/D = 130 exceeds/);
      expect(() => attentionForward(batch, ok, { ...shape, window: 0 })).toThrow(/window = 0/);
      expect(() => attentionForward(batch, ok, shape, { tile: 65 })).toThrow(/tile = 65/);
      destroyTensors(ok.out);
    });
    destroyTensors(small, big);
  });
});
