import { describe, expect, it } from 'vitest';
import { CommandBatch, runBatch, withValidation } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import {
  lagkvSelect,
  lrsaAttentionBackward,
  lrsaAttentionForward,
  lrsaTensorSizes,
} from '../../src/gpu/ops/lrsa.ts';
import {
  type LagkvScoreOptions,
  type LrsaShape,
  lagkvSelectReference,
  lrsaAttentionBackwardReference,
  lrsaAttentionForwardReference,
} from '../../src/gpu/reference/lrsa.ts';
import { createTensor, destroyTensors, readTensor, type Tensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// Scores: the kernel repeats the twin's f32 operation order; only exp/sqrt/division may differ
// by an ulp or two between SwiftShader and V8. Observed ≤ 2.4e-7 relative.
const SCORE_TOL = { atol: 1e-6, rtol: 1e-5 };
// Attention: f32 online softmax (per-tile rescaling) against a float64 twin; errors grow with
// the number of visible keys (≤ ~150 here) times D products. Observed ≤ 4e-7 on out and ≤ 1e-6
// on lse (values up to ~8, i.e. an ulp or two): 10× margin.
const FORWARD_TOL = { atol: 1e-5, rtol: 1e-5 };
// Gradients sum over up to ~150 queries or keys of f32 products. Observed ≤ 7.2e-7 absolute.
const GRAD_TOL = { atol: 1e-5, rtol: 1e-4 };

let ctx: GpuContext;

function shapeOf(
  s: Pick<LrsaShape, 'seqLen' | 'sink' | 'chunk' | 'keep' | 'heads'> & { channels: number; batch?: number },
): LrsaShape {
  return {
    batch: s.batch ?? 1,
    seqLen: s.seqLen,
    heads: s.heads,
    headDim: s.channels / s.heads,
    sink: s.sink,
    chunk: s.chunk,
    keep: s.keep,
  };
}

function describeShape(s: LrsaShape): string {
  return `B=${s.batch} T=${s.seqLen} H=${s.heads} C=${s.heads * s.headDim} S=${s.sink} L=${s.chunk} k=${s.keep}`;
}

async function gpuSelect(
  shape: LrsaShape,
  k: Float32Array,
  v: Float32Array,
  options: LagkvScoreOptions = {},
): Promise<{ selected: Int32Array; scores: Float32Array }> {
  const sizes = lrsaTensorSizes(shape);
  const tk = createTensor(ctx, [sizes.activations], 'f32', 'k', k);
  const tv = createTensor(ctx, [sizes.activations], 'f32', 'v', v);
  const sel = createTensor(ctx, [sizes.selected], 'i32', 'selected');
  const sc = createTensor(ctx, [sizes.scores], 'f32', 'scores');
  await withValidation(ctx, 'lagkvSelect', () =>
    runBatch(ctx, 'lagkv select test', (batch) => lagkvSelect(batch, tk, tv, sel, sc, shape, options)),
  );
  const result = { selected: await readTensor(ctx, sel), scores: await readTensor(ctx, sc) };
  destroyTensors(tk, tv, sel, sc);
  return result;
}

// Selection: random data over awkward shapes (tail, several chunks, heads 1 and 2,
// C ∈ {8, 12, 64}, S ∈ {0, 1, 4}, L > 64 so one chunk spans several invocations' loops).
const SELECT_SHAPES: LrsaShape[] = [
  shapeOf({ batch: 2, seqLen: 44, heads: 2, channels: 12, sink: 1, chunk: 8, keep: 2 }),
  shapeOf({ seqLen: 70, heads: 1, channels: 8, sink: 0, chunk: 16, keep: 4 }),
  shapeOf({ seqLen: 137, heads: 2, channels: 64, sink: 4, chunk: 32, keep: 8 }),
  shapeOf({ seqLen: 300, heads: 1, channels: 8, sink: 1, chunk: 97, keep: 24 }),
  shapeOf({ seqLen: 40, heads: 1, channels: 128, sink: 2, chunk: 8, keep: 3 }),
];

describe('LagKV selection kernel vs twin', () => {
  it('gets a WebGPU adapter', async () => {
    ctx = await testGpu();
    expect(ctx.adapter.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
  });

  for (const [n, shape] of SELECT_SHAPES.entries()) {
    it(`same indices on random data: ${describeShape(shape)}`, async () => {
      ctx = await testGpu();
      const size = lrsaTensorSizes(shape).activations;
      const k = randomArray(size, 1000 + n, 1.5);
      const v = randomArray(size, 2000 + n);
      const options = { scoreVRatio: n % 2 === 0 ? 1 : 0.5 };
      const got = await gpuSelect(shape, k, v, options);
      const want = lagkvSelectReference(k, v, shape, options);
      expect(want.selected.length).toBeGreaterThan(0);
      expect(Array.from(got.selected)).toEqual(Array.from(want.selected));
      expectClose(got.scores, want.scores, SCORE_TOL, 'scores');
    });
  }

  it('same indices with constant chunks (epsilon path, exact ties)', async () => {
    ctx = await testGpu();
    const shape = shapeOf({
      batch: 2,
      seqLen: 1 + 5 * 8,
      heads: 2,
      channels: 12,
      sink: 1,
      chunk: 8,
      keep: 3,
    });
    const size = lrsaTensorSizes(shape).activations;
    const k = randomArray(size, 31);
    const v = randomArray(size, 32);
    const C = 12;
    const setRows = (x: Float32Array, b: number, from: number, to: number, value: (c: number) => number) => {
      for (let t = from; t < to; t++)
        for (let c = 0; c < C; c++) x[(b * shape.seqLen + t) * C + c] = value(c);
    };
    // Batch 0: chunks 0 and 1 one repeated vector (all scores tie → first `keep` tokens);
    // chunk 2 constant in V only (a repeated token: V is constant, RoPE'd K is not).
    setRows(k, 0, 1, 17, (c) => 0.1 * c);
    setRows(v, 0, 1, 17, (c) => 0.5 - 0.1 * c);
    setRows(v, 0, 17, 25, (c) => 0.25 * c);
    // Batch 1: reference chunk 3 constant in K and V, chunk 2 random: (x − ref)/ε.
    setRows(k, 1, 25, 33, () => 0.3);
    setRows(v, 1, 25, 33, (c) => -0.1 * c);
    const got = await gpuSelect(shape, k, v);
    const want = lagkvSelectReference(k, v, shape);
    for (const s of got.scores) expect(Number.isFinite(s)).toBe(true);
    expect(Array.from(want.selected.subarray(0, 3))).toEqual([1, 2, 3]);
    expect(Array.from(got.selected)).toEqual(Array.from(want.selected));
    expectClose(got.scores, want.scores, SCORE_TOL, 'scores');
  });
});

interface Grads {
  out: Float32Array;
  lse: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

async function gpuAttention(
  shape: LrsaShape,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  selected: Int32Array,
  dout: Float32Array,
): Promise<Grads> {
  const sizes = lrsaTensorSizes(shape);
  const n = sizes.activations;
  const tensors: Tensor[] = [];
  const make = <D extends 'f32' | 'i32'>(len: number, dtype: D, label: string, data?: ArrayLike<number>) => {
    const t = createTensor(ctx, [len], dtype, label, data);
    tensors.push(t);
    return t;
  };
  const t = {
    q: make(n, 'f32', 'q', q),
    k: make(n, 'f32', 'k', k),
    v: make(n, 'f32', 'v', v),
    selected: make(sizes.selected, 'i32', 'selected', selected),
    out: make(n, 'f32', 'out'),
    lse: make(sizes.lse, 'f32', 'lse'),
    dout: make(n, 'f32', 'dout', dout),
    rowStats: make(sizes.rowStats, 'f32', 'rowStats'),
    dq: make(n, 'f32', 'dq'),
    dk: make(n, 'f32', 'dk'),
    dv: make(n, 'f32', 'dv'),
  };
  // Validation errors (a shader that fails to compile) would otherwise leave zeros behind.
  await withValidation(ctx, 'lrsa attention', () =>
    runBatch(ctx, 'lrsa attention test', (batch) => {
      lrsaAttentionForward(batch, t.q, t.k, t.v, t.selected, t.out, t.lse, shape);
      lrsaAttentionBackward(batch, t, shape);
    }),
  );
  const result = {
    out: await readTensor(ctx, t.out),
    lse: await readTensor(ctx, t.lse),
    dq: await readTensor(ctx, t.dq),
    dk: await readTensor(ctx, t.dk),
    dv: await readTensor(ctx, t.dv),
  };
  destroyTensors(...tensors);
  return result;
}

function cpuAttention(
  shape: LrsaShape,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  selected: Int32Array,
  dout: Float32Array,
): Grads {
  const { out, lse } = lrsaAttentionForwardReference(q, k, v, selected, shape);
  const grads = lrsaAttentionBackwardReference(q, k, v, selected, out, lse, dout, shape);
  return { out, lse, ...grads } as Grads;
}

function compareAll(got: Grads, want: Grads, label: string): void {
  expectClose(got.out, want.out, FORWARD_TOL, `${label} out`);
  expectClose(got.lse, want.lse, FORWARD_TOL, `${label} lse`);
  expectClose(got.dq, want.dq, GRAD_TOL, `${label} dq`);
  expectClose(got.dk, want.dk, GRAD_TOL, `${label} dk`);
  expectClose(got.dv, want.dv, GRAD_TOL, `${label} dv`);
}

// Attention shapes: T < S + 2L, tails, ≥ 4 chunks, heads 1 and 2, C ∈ {8, 12, 64, 128},
// S ∈ {0, 1, 4}, keep 0, L > 64 (two tiles per chunk, an empty tile in the tail).
const ATTENTION_SHAPES: LrsaShape[] = [
  shapeOf({ seqLen: 23, heads: 2, channels: 8, sink: 1, chunk: 4, keep: 1 }),
  shapeOf({ batch: 2, seqLen: 9, heads: 1, channels: 12, sink: 0, chunk: 5, keep: 2 }),
  shapeOf({ seqLen: 90, heads: 2, channels: 64, sink: 4, chunk: 16, keep: 4 }),
  shapeOf({ seqLen: 150, heads: 1, channels: 64, sink: 1, chunk: 32, keep: 8 }),
  shapeOf({ seqLen: 251, heads: 1, channels: 8, sink: 1, chunk: 80, keep: 20 }),
  shapeOf({ seqLen: 33, heads: 2, channels: 12, sink: 4, chunk: 4, keep: 0 }),
  shapeOf({ seqLen: 40, heads: 1, channels: 128, sink: 2, chunk: 8, keep: 3 }),
  shapeOf({ batch: 2, seqLen: 61, heads: 2, channels: 8, sink: 0, chunk: 8, keep: 8 }),
];

describe('LRSA attention kernels vs twins (forward, backward)', () => {
  for (const [n, shape] of ATTENTION_SHAPES.entries()) {
    it(describeShape(shape), async () => {
      ctx = await testGpu();
      const size = lrsaTensorSizes(shape).activations;
      const q = randomArray(size, 3000 + n, 2);
      const k = randomArray(size, 4000 + n, 2);
      const v = randomArray(size, 5000 + n);
      const dout = randomArray(size, 6000 + n);
      const { selected } = lagkvSelectReference(k, v, shape);
      const got = await gpuAttention(shape, q, k, v, selected, dout);
      compareAll(got, cpuAttention(shape, q, k, v, selected, dout), describeShape(shape));
    });
  }

  it('end to end: GPU selection feeding GPU attention', async () => {
    ctx = await testGpu();
    const shape = shapeOf({ batch: 2, seqLen: 77, heads: 2, channels: 12, sink: 1, chunk: 8, keep: 2 });
    const size = lrsaTensorSizes(shape).activations;
    const [q, k, v, dout] = [7, 8, 9, 10].map((s) => randomArray(size, s));
    const { selected } = await gpuSelect(shape, k, v);
    const want = lagkvSelectReference(k, v, shape).selected;
    expect(Array.from(selected)).toEqual(Array.from(want));
    const got = await gpuAttention(shape, q, k, v, selected, dout);
    compareAll(got, cpuAttention(shape, q, k, v, want, dout), 'end to end');
  });
});

describe('LRSA wrappers reject bad shapes with the field named', () => {
  it('names the tensor, the field and the limit', async () => {
    ctx = await testGpu();
    const shape = shapeOf({ seqLen: 30, heads: 2, channels: 8, sink: 1, chunk: 4, keep: 1 });
    const sizes = lrsaTensorSizes(shape);
    const full = createTensor(ctx, [sizes.activations], 'f32', 'full');
    const short = createTensor(ctx, [sizes.activations - 1], 'f32', 'short');
    const sel = createTensor(ctx, [sizes.selected], 'i32', 'sel');
    const selF32 = createTensor(ctx, [sizes.selected], 'f32', 'selF32');
    const lse = createTensor(ctx, [sizes.lse], 'f32', 'lse');
    const batch = new CommandBatch(ctx, 'validation');
    expect(() => lrsaAttentionForward(batch, full, short, full, sel, full, lse, shape)).toThrow(
      /k "short" has \d+ elements, needs \d+/,
    );
    expect(() => lrsaAttentionForward(batch, full, full, full, selF32, full, lse, shape)).toThrow(
      /selected "selF32" is f32, needs i32/,
    );
    expect(() =>
      lrsaAttentionForward(batch, full, full, full, sel, full, lse, { ...shape, keep: 5 }),
    ).toThrow(/keep = 5 must be a whole number in \[0, chunk = 4\]/);
    expect(() =>
      lagkvSelect(batch, full, full, sel, full, { ...shape, heads: 1, headDim: 8, chunk: 300, keep: 1 }),
    ).toThrow(/chunk = 300 exceeds the selection kernel's limit of 256/);
    expect(() =>
      lrsaAttentionForward(batch, full, full, full, sel, full, lse, { ...shape, heads: 1, headDim: 256 }),
    ).toThrow(/headDim = 256 exceeds the kernels' limit of 128/);
    expect(batch.isEmpty).toBe(true);
    destroyTensors(full, short, sel, selF32, lse);
  });
});
