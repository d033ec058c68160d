import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import { add, axpy } from '../../src/gpu/ops/elementwise.ts';
import {
  MAX_WORKGROUPS_PER_DIM,
  preferredRowStrategy,
  rowWorkgroups,
  spreadWorkgroups,
} from '../../src/gpu/ops/workgroups.ts';
import { addReference, axpyReference } from '../../src/gpu/reference/elementwise.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// One or two f32 operations per element. The twin rounds once; the GPU's fma may round the
// product first (SwiftShader does), which near cancellation costs up to an ulp of the
// operands (|inputs| ≤ 2, ulp 2.4e-7) rather than of the result: 2.5e-7 absolute + 2 ulps relative.
const TOL = { atol: 2.5e-7, rtol: 2.5e-7 };

const SIZES = [1, 7, 256, 1000];

describe('elementwise kernels vs CPU twin', () => {
  for (const n of SIZES) {
    it(`add, axpy (n=${n})`, async () => {
      const ctx = await testGpu();
      const a = randomArray(n, n + 1);
      const b = randomArray(n, n + 2);
      const ta = createTensor(ctx, [n], 'f32', 'a', a);
      const tb = createTensor(ctx, [n], 'f32', 'b', b);
      const out = createTensor(ctx, [n], 'f32', 'out');
      const y = createTensor(ctx, [n], 'f32', 'y', b);
      await runBatch(ctx, 'elementwise', (batch) => {
        add(batch, ta, tb, out);
        axpy(batch, ta, y, -0.375);
      });
      expectClose(await readTensor(ctx, out), addReference(a, b), TOL, 'add');
      const yWant = Float32Array.from(b);
      axpyReference(yWant, a, -0.375);
      expectClose(await readTensor(ctx, y), yWant, TOL, 'axpy');
      destroyTensors(ta, tb, out, y);
    });
  }

  it('spreads grids over two dimensions beyond 65535 workgroups', () => {
    expect(spreadWorkgroups(5)).toEqual([5, 1]);
    expect(spreadWorkgroups(MAX_WORKGROUPS_PER_DIM)).toEqual([MAX_WORKGROUPS_PER_DIM, 1]);
    for (const count of [MAX_WORKGROUPS_PER_DIM + 1, 200_001, 3 * MAX_WORKGROUPS_PER_DIM]) {
      const [x, y] = spreadWorkgroups(count);
      expect(x).toBeLessThanOrEqual(MAX_WORKGROUPS_PER_DIM);
      expect(x * y).toBeGreaterThanOrEqual(count);
      expect(x * (y - 1)).toBeLessThan(count);
    }
  });

  it('row strategies: an invocation per row on software adapters and for narrow rows', () => {
    expect(preferredRowStrategy({ isSoftware: true }, 4096)).toBe('invocation');
    expect(preferredRowStrategy({ isSoftware: false }, 32)).toBe('invocation');
    expect(preferredRowStrategy({ isSoftware: false }, 64)).toBe('workgroup');
    expect(rowWorkgroups(100, 'workgroup', 64)).toEqual([100, 1]);
    expect(rowWorkgroups(100, 'invocation', 64)).toEqual([2, 1]);
  });

  it('a 2-D grid covers every element exactly once (x + x, 65536·256 + 300 elements)', async () => {
    const ctx = await testGpu();
    const n = (MAX_WORKGROUPS_PER_DIM + 1) * 256 + 300;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = i % 1021;
    const t = createTensor(ctx, [n], 'f32', 'big', data);
    const sum = createTensor(ctx, [n], 'f32', 'big sum');
    await runBatch(ctx, 'big add', (batch) => add(batch, t, t, sum));
    const got = await readTensor(ctx, sum);
    let bad = -1;
    for (let i = 0; i < n; i++) {
      if (got[i] !== 2 * (i % 1021)) {
        bad = i;
        break;
      }
    }
    expect(bad).toBe(-1);
    destroyTensors(t, sum);
  });

  it('refuses aliasing, short tensors and wrong dtypes with clear messages', async () => {
    const ctx = await testGpu();
    const a = createTensor(ctx, [4], 'f32', 'a');
    const short = createTensor(ctx, [2], 'f32', 'short');
    const ints = createTensor(ctx, [4], 'i32', 'ints');
    await runBatch(ctx, 'errors', (batch) => {
      expect(() => add(batch, a, short, a)).toThrow(/"short" has 2 elements, needs 4/);
      expect(() => axpy(batch, a, a)).toThrow(/same buffer/);
      expect(() => add(batch, ints, a, short, 2)).toThrow(/dtype i32, needs f32/);
    });
    destroyTensors(a, short, ints);
  });
});
