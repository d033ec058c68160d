import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { createRopeTable, ropeBackward, ropeForward } from '../../src/gpu/ops/rope.ts';
import { type RopeShape, ropeBackwardReference, ropeForwardReference } from '../../src/gpu/reference/rope.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
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
    });
    destroyTensors(table.tensor, x);
  });
});
