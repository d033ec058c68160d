import { describe, expect, it } from 'vitest';
import { createTensor, destroyTensors, readTensor, readTensors } from '../../src/gpu/tensor.ts';
import { testGpu } from '../harness/gpu.ts';

describe('tensor read-back', () => {
  it('reads several tensors of mixed types and sizes in one go, each at its own offset', async () => {
    const ctx = await testGpu();
    const f = createTensor(ctx, [3], 'f32', 'f', [0.5, -1.25, 3]);
    const empty = createTensor(ctx, [0], 'i32', 'empty');
    const i = createTensor(ctx, [5], 'i32', 'i', [7, -2, 0, 2 ** 30, -1]);
    const u = createTensor(ctx, [1], 'u32', 'u', [2 ** 32 - 1]);
    const [rf, re, ri, ru] = await readTensors(ctx, [f, empty, i, u]);
    expect(Array.from(rf)).toEqual([0.5, -1.25, 3]);
    expect(re).toBeInstanceOf(Int32Array);
    expect(re.length).toBe(0);
    expect(ri).toBeInstanceOf(Int32Array);
    expect(Array.from(ri)).toEqual([7, -2, 0, 2 ** 30, -1]);
    expect(ru).toBeInstanceOf(Uint32Array);
    expect(Array.from(ru)).toEqual([2 ** 32 - 1]);
    expect(Array.from(await readTensor(ctx, i))).toEqual(Array.from(ri));
    expect(await readTensors(ctx, [])).toEqual([]);
    destroyTensors(f, empty, i, u);
  });
});
