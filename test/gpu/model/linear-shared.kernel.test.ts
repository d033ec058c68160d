import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { GpuBackend } from '../../../src/gpu/model/gpu-backend.ts';
import type { Tensor } from '../../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../../harness/gpu.ts';
import { randomArray } from '../../harness/random.ts';

// linearShared / linearSharedBackward and ropeMany on the WebGPU backend against the CPU
// backend (whose versions loop over linear / linearBackward / rope, the twins): laid out as
// one strided group (one batched dispatch) and as separate tensors (one dispatch per tensor).
// Tolerance as the matmul kernel test: f32 sums of ≤ 3 · 7 products in another order, inputs
// in [−1, 1] (gradients accumulated onto values in [−1, 1]); 1e-5 absolute is ~10× the error.
const TOL = { atol: 1e-5, rtol: 1e-4 };

const shape = { rows: 7, inDim: 5, outDim: 6 };
const COUNT = 3;

describe('linear layers sharing an input, WebGPU backend vs CPU backend', () => {
  for (const strided of [true, false]) {
    it(
      strided ? 'one strided group: 1 dispatch forward, 2 backward' : 'separate tensors: one by one',
      async () => {
        const ctx = await testGpu();
        const gpu = new GpuBackend(ctx);
        const cpu = new CpuBackend();
        const { rows, inDim, outDim } = shape;
        const x = randomArray(rows * inDim, 1);
        const ws = Array.from({ length: COUNT }, (_, i) => randomArray(outDim * inDim, 10 + i));
        const dys = Array.from({ length: COUNT }, (_, i) => randomArray(rows * outDim, 20 + i));
        const dx0 = randomArray(rows * inDim, 30);
        const dw0 = Array.from({ length: COUNT }, (_, i) => randomArray(outDim * inDim, 40 + i));

        const group = (length: number, name: string, data: Float32Array[]): Tensor<'f32'>[] => {
          const names = data.map((_, i) => `${name}${i}`);
          if (!strided) return data.map((d, i) => gpu.upload(d, names[i]));
          const sliced = gpu.allocSlices(
            data.map(() => length),
            name,
            names,
          );
          if (!sliced) throw new Error('allocSlices: no room');
          for (const [i, t] of sliced.slices.entries()) gpu.write(t, data[i]);
          return sliced.slices;
        };
        const gx = gpu.upload(x, 'x');
        const gws = group(outDim * inDim, 'w', ws);
        const gys = group(
          rows * outDim,
          'y',
          ws.map(() => new Float32Array(rows * outDim)),
        );
        const gdys = group(rows * outDim, 'dy', dys);
        const gdx = gpu.upload(dx0, 'dx');
        const gdws = group(outDim * inDim, 'dw', dw0);
        gpu.flush();

        ctx.counters.reset();
        gpu.linearShared({ x: gx, ws: gws }, { ys: gys }, shape);
        gpu.flush();
        const forwardDispatches = ctx.counters.dispatches;
        ctx.counters.reset();
        gpu.linearSharedBackward({ x: gx, ws: gws, dys: gdys }, { dx: gdx, dws: gdws }, shape, {
          accumulateDx: true,
        });
        gpu.flush();
        const backwardDispatches = ctx.counters.dispatches;
        expect([forwardDispatches, backwardDispatches]).toEqual(strided ? [1, 2] : [COUNT, 2 * COUNT]);

        const ys = ws.map(() => new Float32Array(rows * outDim));
        const dx = dx0.slice();
        const dws = dw0.map((d) => d.slice());
        cpu.linearShared({ x, ws }, { ys }, shape);
        cpu.linearSharedBackward({ x, ws, dys }, { dx, dws }, shape, { accumulateDx: true });

        const got = await gpu.read([...gys, gdx, ...gdws]);
        for (let i = 0; i < COUNT; i++) expectClose(got[i], ys[i], TOL, `y${i}`);
        expectClose(got[COUNT], dx, TOL, 'dx (accumulated over the three and onto dx)');
        for (let i = 0; i < COUNT; i++) expectClose(got[COUNT + 1 + i], dws[i], TOL, `dw${i}`);
        gpu.dispose();
      },
    );
  }

  it('ropeMany rotates q and k in place in one dispatch', async () => {
    const ctx = await testGpu();
    const gpu = new GpuBackend(ctx);
    const cpu = new CpuBackend();
    const ashape = { B: 2, T: 5, H: 2, D: 4, window: 5 };
    const n = ashape.B * ashape.T * ashape.H * ashape.D;
    const data = [randomArray(n, 50), randomArray(n, 51)];
    const sliced = gpu.allocSlices([n, n], 'qk', ['q', 'k']);
    if (!sliced) throw new Error('allocSlices: no room');
    for (const [i, t] of sliced.slices.entries()) gpu.write(t, data[i]);
    gpu.flush();
    ctx.counters.reset();
    gpu.ropeMany({ xs: sliced.slices }, { outs: sliced.slices }, ashape, { base: 100 });
    gpu.ropeManyBackward({ dys: [sliced.slices[1]] }, { dxs: [sliced.slices[1]] }, ashape, { base: 100 });
    gpu.flush();
    expect(ctx.counters.dispatches).toBe(2);
    const want = data.map((d) => d.slice());
    cpu.ropeMany({ xs: want }, { outs: want }, ashape, { base: 100 });
    cpu.ropeManyBackward({ dys: [want[1]] }, { dxs: [want[1]] }, ashape, { base: 100 });
    const got = await gpu.read(sliced.slices);
    // q rotated (table in f32, twin in f64: ≤ ~3e-7, as the rope kernel test); k back where it was.
    expectClose(got[0], want[0], { atol: 1e-6, rtol: 0 }, 'q');
    expectClose(got[1], data[1], { atol: 1e-6, rtol: 0 }, 'k rotated and back');
    expect(Math.max(...got[0].map((v, i) => Math.abs(v - data[0][i])))).toBeGreaterThan(0.01);
    gpu.dispose();
  });
});
