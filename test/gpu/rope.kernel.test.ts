import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { createRopeTable, ropeBackward, ropeForward } from '../../src/gpu/ops/rope.ts';
import {
  type RopeShape,
  ropeBackwardReference,
  ropeForwardReference,
  ropeSegmentsReference,
} from '../../src/gpu/reference/rope.ts';
import { createTensor, destroyTensors, readTensor, tensorSlices } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// The kernel rotates with float32 cos/sin from the table; the twin uses float64 cos/sin.
// Each output is a·cos ± b·sin with |a|, |b| ≤ 1: table rounding (2⁻²⁴ relative each) plus
// two f32 products and a sum give ≤ ~3e-7. Observed ≤ 1.2e-7; 1e-6 absolute bounds it.
const TOL = { atol: 1e-6, rtol: 0 };

interface Case extends RopeShape {
  inPlace: boolean;
  gridWidth?: number;
}

const CASES: Case[] = [
  { B: 1, T: 1, H: 1, D: 4, inPlace: false },
  { B: 2, T: 7, H: 2, D: 6, offset: 3, inPlace: false },
  { B: 1, T: 130, H: 2, D: 32, inPlace: true },
  { B: 2, T: 64, H: 1, D: 64, offset: 5000, base: 1e6, inPlace: false },
  { B: 3, T: 33, H: 3, D: 6, offset: 1, inPlace: true, gridWidth: 2 },
  { B: 1, T: 130, H: 1, D: 4, inPlace: false, gridWidth: 1 },
];

let ctx: GpuContext;

function describeCase(c: Case): string {
  return `B=${c.B} T=${c.T} H=${c.H} D=${c.D} offset=${c.offset ?? 0} base=${c.base ?? 10000}${c.inPlace ? ' in place' : ''}${c.gridWidth ? ` grid width ${c.gridWidth}` : ''}`;
}

describe('rope kernel vs CPU twin', () => {
  it('gets a WebGPU adapter', async () => {
    ctx = await testGpu();
    expect(ctx.adapter.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(3);
  });

  CASES.forEach((c, index) => {
    it(describeCase(c), async () => {
      ctx = await testGpu();
      const n = c.B * c.T * c.H * c.D;
      const x = randomArray(n, 500 + index);
      const dy = randomArray(n, 600 + index);
      const table = createRopeTable(ctx, (c.offset ?? 0) + c.T + 2, c.D, c.base);
      const tx = createTensor(ctx, [n], 'f32', 'x', x);
      const tdy = createTensor(ctx, [n], 'f32', 'dy', dy);
      const out = c.inPlace ? tx : createTensor(ctx, [n], 'f32', 'out');
      const dx = c.inPlace ? tdy : createTensor(ctx, [n], 'f32', 'dx');
      const options = c.gridWidth ? { gridWidth: c.gridWidth } : {};
      await runBatch(ctx, 'rope test', (batch) => {
        ropeForward(batch, { x: tx, out, table }, c, options);
        ropeBackward(batch, { dy: tdy, dx, table }, c, options);
      });
      const gotOut = await readTensor(ctx, out);
      const gotDx = await readTensor(ctx, dx);
      destroyTensors(tx, tdy, out, dx, table.tensor);
      expectClose(gotOut, ropeForwardReference(x, c), TOL, `${describeCase(c)} forward`);
      expectClose(gotDx, ropeBackwardReference(dy, c), TOL, `${describeCase(c)} backward`);
    });
  });

  // q, k, v of a layer in one dispatch: q and k rotated, v copied; segments with gaps between
  // them (a slice's alignment), a 2-D grid, both directions. Same tolerance as above (a copy is
  // exact: a·1 − b·0).
  for (const [inverse, gridWidth] of [
    [false, undefined],
    [true, 1],
  ] as const) {
    it(`three segments, two rotated, strides with gaps${inverse ? ', inverse' : ''}`, async () => {
      ctx = await testGpu();
      const shape = { B: 2, T: 5, H: 3, D: 6, offset: 2 };
      const n = shape.B * shape.T * shape.H * shape.D;
      const segments = { count: 3, rotated: 2, strideIn: n + 7, strideOut: n + 3 };
      const x = randomArray(3 * segments.strideIn, 900);
      const before = randomArray(3 * segments.strideOut, 901);
      const table = createRopeTable(ctx, 8, shape.D);
      const tx = createTensor(ctx, [x.length], 'f32', 'x', x);
      const tout = createTensor(ctx, [before.length], 'f32', 'out', before);
      await runBatch(ctx, 'rope segments test', (batch) => {
        const options = gridWidth ? { gridWidth } : {};
        if (inverse) ropeBackward(batch, { dy: tx, dx: tout, table }, shape, options, segments);
        else ropeForward(batch, { x: tx, out: tout, table }, shape, options, segments);
      });
      const got = await readTensor(ctx, tout);
      destroyTensors(tx, tout, table.tensor);
      const want = before.slice();
      ropeSegmentsReference(x, want, shape, segments, inverse ? -1 : 1);
      expectClose(got, want, TOL, 'segments');
      // The copied segment is v itself, bit for bit; the rotated ones are not.
      const v = 2 * segments.strideIn;
      expect([...got.subarray(2 * segments.strideOut, 2 * segments.strideOut + n)]).toEqual([
        ...x.subarray(v, v + n),
      ]);
      // (channel 3 pairs with channel 0, turned by 2 radians at position 2)
      expect(got[segments.strideOut + 3]).not.toBeCloseTo(x[segments.strideIn + 3], 3);
    });
  }

  it('rejects shapes the table or tensors cannot serve', async () => {
    ctx = await testGpu();
    const table = createRopeTable(ctx, 8, 4);
    const x = createTensor(ctx, [32], 'f32', 'x');
    await runBatch(ctx, 'rope validation', (batch) => {
      const shape = { B: 1, T: 8, H: 1, D: 4 };
      expect(() => ropeForward(batch, { x, out: x, table }, { ...shape, offset: 1 })).toThrow(
        /need a table of ≥ 9 positions; it has 8/,
      );
      expect(() => ropeForward(batch, { x, out: x, table }, { ...shape, D: 6, T: 2 })).toThrow(
        /D = 6 differs/,
      );
      expect(() => ropeForward(batch, { x, out: x, table }, { ...shape, base: 500 })).toThrow(
        /base 500 differs/,
      );
      expect(() => ropeForward(batch, { x, out: x, table }, { ...shape, B: 2 })).toThrow(
        /has 32 elements, needs 64/,
      );
      expect(() => ropeForward(batch, { x, out: x, table }, { ...shape, D: 3 })).toThrow(/must be even/);
      const halves = tensorSlices(ctx, [64, 64], 'halves', ['first', 'second'])!;
      expect(() =>
        ropeForward(batch, { x: halves.slices[0], out: halves.slices[1], table }, { ...shape, T: 2 }),
      ).toThrow(/"second" shares a buffer with "first" at another offset/);
      destroyTensors(halves.whole);
    });
    destroyTensors(table.tensor, x);
  });
});
