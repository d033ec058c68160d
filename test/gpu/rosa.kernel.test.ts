import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import {
  createRosaBackwardScratch,
  createScanTensors,
  destroyRosaBackwardScratch,
  destroyScanTensors,
  rosaInjectionBackward,
  rosaInjectionForward,
  rosaSignPack,
  signPackWords,
} from '../../src/gpu/ops/rosa.ts';
import {
  type RosaDims,
  type RosaGradOptions,
  rosaInjectionBackwardReference,
  rosaInjectionForwardReference,
  rosaSignPackReference,
  scanShapeOf,
} from '../../src/gpu/reference/rosa.ts';
import { createTensor, destroyTensors, readTensor, type Tensor } from '../../src/gpu/tensor.ts';
import { allocateScanOutputs, type RosaMode, type ScanOutputs } from '../../src/rosa-worker/layout.ts';
import { scanLanes } from '../../src/rosa-worker/scan.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray, randomInt, rng } from '../harness/random.ts';
import { activations, layerVectors, randomScanOutputs, vectorEScan } from '../harness/rosa-fixtures.ts';

// Tolerances, kernel (f32 throughout) vs twin (float64 accumulation, rounded once):
// - sign-pack and injection forward: exact (comparisons and a select of the same f32 values).
// - gradV, gradQ, gradK: f32 sums of up to a few hundred products of size ≤ 2, summed in the same
//   order as the twin, times σ' from f32 exp (a few ulp); the largest errors seen on SwiftShader
//   are 1.2e-7 (gradQ), 2.4e-7 (gradK) and 3.6e-7 (gradV) absolute on values of order 1.
// - gradE0/gradE1: sums over B·T ≤ 600 rows in a tree order different from the twin's; largest
//   error seen 2.4e-6 absolute.
// 1e-5 absolute + 1e-4 relative leaves a 5–40× margin, while a wrong index or a missing term
// (differences of order 0.01–1) fails; vector E is checked at 1e-6.
const GRAD = { atol: 1e-5, rtol: 1e-4 };

let ctx: GpuContext;

interface LayerInputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  e0: Float32Array;
  e1: Float32Array;
  gradY: Float32Array;
}

/**
 * Random activations with exact zeros. `repetitive`: q and k rows are drawn from a pool of four
 * rows per stream and held for a few steps, so the symbol streams have long runs and recurring
 * contexts (long inverse lists, many matches), unlike i.i.d. rows.
 */
function randomInputs(dims: RosaDims, seed: number, repetitive = false): LayerInputs {
  const n = dims.B * dims.T * dims.C;
  const repeat = (s: number) => {
    const r = rng(s + 7);
    const pool = activations(4 * dims.C, s);
    const x = new Float32Array(n);
    let src = 0;
    for (let row = 0; row < dims.B * dims.T; row++) {
      if (r() < 0.4) src = randomInt(r, 4);
      x.set(pool.subarray(src * dims.C, src * dims.C + dims.C), row * dims.C);
    }
    return x;
  };
  return {
    q: repetitive ? repeat(seed) : activations(n, seed),
    k: repetitive ? repeat(seed + 1) : activations(n, seed + 1),
    v: activations(n, seed + 2),
    e0: randomArray(dims.C, seed + 3),
    e1: randomArray(dims.C, seed + 4),
    gradY: randomArray(n, seed + 5),
  };
}

const f32 = (shape: number[], label: string, data?: Float32Array) =>
  createTensor(ctx, shape, 'f32', label, data);

async function packOnGpu(x: Float32Array, dims: RosaDims): Promise<Uint8Array> {
  const tx = f32([x.length], 'x', x);
  const sym = createTensor(ctx, [signPackWords(dims)], 'u32', 'symbols');
  await runBatch(ctx, 'rosa pack test', (batch) => rosaSignPack(batch, tx, sym, dims));
  const words = await readTensor(ctx, sym);
  destroyTensors(tx, sym);
  // Bytes of little-endian u32 words (every platform WebGPU runs on is little-endian).
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

async function layerOnGpu(x: LayerInputs, scan: ScanOutputs, dims: RosaDims, options: RosaGradOptions) {
  const n = dims.B * dims.T * dims.C;
  const t: Record<keyof LayerInputs, Tensor> = {
    q: f32([n], 'q', x.q),
    k: f32([n], 'k', x.k),
    v: f32([n], 'v', x.v),
    e0: f32([dims.C], 'e0', x.e0),
    e1: f32([dims.C], 'e1', x.e1),
    gradY: f32([n], 'gradY', x.gradY),
  };
  const scanT = createScanTensors(ctx, dims, scan);
  const scratch = createRosaBackwardScratch(ctx, dims);
  // Outputs start as NaN so that an element the kernels forget to write cannot pass as 0.
  const nan = (m: number) => new Float32Array(m).fill(Number.NaN);
  const out = {
    y: f32([n], 'y', nan(n)),
    gradQ: f32([n], 'gradQ', nan(n)),
    gradK: f32([n], 'gradK', nan(n)),
    gradV: f32([n], 'gradV', nan(n)),
    gradE0: f32([dims.C], 'gradE0', nan(dims.C)),
    gradE1: f32([dims.C], 'gradE1', nan(dims.C)),
  };
  await runBatch(ctx, 'rosa layer test', (batch) => {
    rosaInjectionForward(batch, { v: t.v, e0: t.e0, e1: t.e1, dest: scanT.dest, y: out.y }, dims);
    rosaInjectionBackward(batch, { ...t, scan: scanT, scratch, ...out }, dims, options);
  });
  const read = async (tensor: Tensor<'f32'> | Tensor) => (await readTensor(ctx, tensor)) as Float32Array;
  const result = {
    y: await read(out.y),
    gradQ: await read(out.gradQ),
    gradK: await read(out.gradK),
    gradV: await read(out.gradV),
    gradE0: await read(out.gradE0),
    gradE1: await read(out.gradE1),
  };
  destroyTensors(...Object.values(t), ...Object.values(out));
  destroyScanTensors(scanT);
  destroyRosaBackwardScratch(scratch);
  return result;
}

/** Sign-packs q and k on the GPU, checks the bytes against the twin, scans them on the CPU. */
async function scanViaGpuPack(x: LayerInputs, dims: RosaDims, mode: RosaMode): Promise<ScanOutputs> {
  const qSym = await packOnGpu(x.q, dims);
  const kSym = await packOnGpu(x.k, dims);
  expect(Array.from(qSym)).toEqual(Array.from(rosaSignPackReference(x.q, dims)));
  expect(Array.from(kSym)).toEqual(Array.from(rosaSignPackReference(x.k, dims)));
  const shape = scanShapeOf(dims);
  const scan = allocateScanOutputs(shape);
  scanLanes({ mode, shape, qSym, kSym }, scan);
  return scan;
}

interface CheckOptions extends RosaGradOptions {
  /** Scan semantics for a real scan; 'random' for random-but-consistent scan outputs. */
  scan: RosaMode | 'random';
  repetitive?: boolean;
}

async function checkLayer(dims: RosaDims, seed: number, options: CheckOptions) {
  const x = randomInputs(dims, seed, options.repetitive);
  const scan =
    options.scan === 'random'
      ? randomScanOutputs(dims, seed + 10)
      : await scanViaGpuPack(x, dims, options.scan);
  const got = await layerOnGpu(x, scan, dims, options);
  const label = `B${dims.B} T${dims.T} C${dims.C} bits${dims.bits} ${options.scan}`;
  const wantY = rosaInjectionForwardReference(x.v, x.e0, x.e1, scan.dest, dims);
  expectClose(got.y, wantY, { atol: 0, rtol: 0 }, `${label} y`);
  const want = rosaInjectionBackwardReference({ ...dims, ...x, ...options, scan });
  for (const name of ['gradQ', 'gradK', 'gradV', 'gradE0', 'gradE1'] as const)
    expectClose(got[name], want[name], GRAD, `${label} ${name}`);
  // Long enough streams always match somewhere: the comparison must not be one of zeros.
  if (dims.T >= 64) {
    for (const name of ['y', 'gradQ', 'gradK', 'gradV'] as const)
      expect(
        got[name].some((z) => z !== 0),
        `${label} ${name} has non-zero entries`,
      ).toBe(true);
  }
  if (options.scan === 'random')
    expect(Array.from(await packOnGpu(x.q, dims))).toEqual(Array.from(rosaSignPackReference(x.q, dims)));
}

describe('ROSA kernels vs CPU twins', () => {
  it('gets a WebGPU adapter', async () => {
    ctx = await testGpu();
    expect(ctx.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('vector E (docs/rosa-spec.md §8 E): y and the counterfactual gradients', async () => {
    ctx = await testGpu();
    const [e] = layerVectors();
    const dims = { B: 1, T: e.T, C: e.C, bits: e.bits };
    const got = await layerOnGpu(e, vectorEScan(), dims, {});
    // The vector is float64 printed to 9 decimals; the kernels run in f32.
    const VEC = { atol: 1e-6, rtol: 1e-5 };
    expectClose(got.y, e.y, VEC, 'y');
    expectClose(got.gradQ, e.gradQ, VEC, 'gradQ');
    expectClose(got.gradK, e.gradK, VEC, 'gradK');
    expectClose(got.gradV, e.gradV, VEC, 'gradV');
    expect(Array.from((await packOnGpu(e.q, dims)).subarray(0, 6))).toEqual([0, 1, 2, 3, 1, 2]);
  });

  // Real scans of the GPU-packed symbols, cycling through the three modes; every other case
  // has run-heavy, recurring inputs.
  const modes: RosaMode[] = ['rosa-tuning', 'exact', 'rwkv8'];
  let index = 0;
  for (const T of [1, 7, 64, 130]) {
    for (const C of [8, 12, 64]) {
      for (const bits of [1, 2, 4]) {
        const B = (T + C + bits) % 2 === 0 ? 2 : 1;
        const dims = { B, T, C, bits };
        const i = index++;
        const options = { scan: modes[i % 3], repetitive: i % 2 === 1 };
        it(`B${B} T${T} C${C} bits${bits} ${options.scan}${options.repetitive ? ' repetitive' : ''}`, async () => {
          ctx = await testGpu();
          await checkLayer(dims, 1000 + 31 * i, options);
        });
      }
    }
  }

  // Random-but-consistent scans (denser and less regular than real ones) and the surrogate's knobs.
  const variants: Array<[RosaDims, CheckOptions]> = [
    [{ B: 2, T: 64, C: 12, bits: 4 }, { scan: 'random' }],
    [{ B: 1, T: 130, C: 8, bits: 2 }, { scan: 'random' }],
    [
      { B: 2, T: 33, C: 12, bits: 4 },
      { scan: 'random', tempQ: 1.7, tempK: 0.6, tempV: 2.3 },
    ],
    [
      { B: 1, T: 40, C: 8, bits: 2 },
      { scan: 'rosa-tuning', repetitive: true, hardVForQ: true },
    ],
    [
      { B: 2, T: 21, C: 16, bits: 8 },
      { scan: 'random', hardVForK: true, tempV: 0.5 },
    ],
    [
      { B: 1, T: 19, C: 6, bits: 3 },
      { scan: 'exact', repetitive: true, hardVForQ: true, hardVForK: true },
    ],
  ];
  for (const [dims, options] of variants) {
    it(`B${dims.B} T${dims.T} C${dims.C} bits${dims.bits} ${JSON.stringify(options)}`, async () => {
      ctx = await testGpu();
      await checkLayer(dims, 7 * dims.T + dims.C, options);
    });
  }

  it('the e0/e1 reduction over many row groups (B·T > 256 rows per group)', async () => {
    ctx = await testGpu();
    await checkLayer({ B: 2, T: 300, C: 4, bits: 2 }, 99, { scan: 'rosa-tuning' });
  });

  it('x > 0 exactly, on every adapter: -0, NaN, ±∞ and subnormals in sign-pack, y and gradE', async () => {
    ctx = await testGpu();
    // Subnormals are the case a float comparison may flush to zero (SwiftShader does).
    const special = [
      0,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1.4e-45,
      -1.4e-45,
      1e-38,
    ];
    const dims = { B: 2, T: 9, C: 8, bits: 2 };
    const x = randomInputs(dims, 123);
    for (let i = 0; i < x.q.length; i += 3) x.q[i] = special[(i / 3) % special.length];
    for (let i = 1; i < x.v.length; i += 3) x.v[i] = special[((i - 1) / 3) % special.length];
    expect(Array.from(await packOnGpu(x.q, dims))).toEqual(Array.from(rosaSignPackReference(x.q, dims)));
    const scan = await scanViaGpuPack(x, dims, 'rosa-tuning');
    const got = await layerOnGpu(x, scan, dims, {});
    expectClose(
      got.y,
      rosaInjectionForwardReference(x.v, x.e0, x.e1, scan.dest, dims),
      { atol: 0, rtol: 0 },
      'y',
    );
    const want = rosaInjectionBackwardReference({ ...dims, ...x, scan, hardVForQ: true, hardVForK: true });
    expectClose(got.gradE0, want.gradE0, GRAD, 'gradE0');
    expectClose(got.gradE1, want.gradE1, GRAD, 'gradE1');
  });

  it('an empty sequence (T = 0) records nothing but gradE0 = gradE1 = 0', async () => {
    ctx = await testGpu();
    const dims = { B: 2, T: 0, C: 8, bits: 4 };
    const got = await layerOnGpu(randomInputs(dims, 5), randomScanOutputs(dims, 6), dims, {});
    expect(Array.from(got.gradE0)).toEqual(new Array(8).fill(0));
    expect(Array.from(got.gradE1)).toEqual(new Array(8).fill(0));
    expect(got.y.length + got.gradQ.length).toBe(0);
  });

  it('rejects mismatched shapes with messages that name the field', async () => {
    ctx = await testGpu();
    const x = f32([10], 'x');
    const sym = createTensor(ctx, [8], 'u32', 'symbols');
    const y = f32([10], 'y');
    const dest = createTensor(ctx, [5], 'i32', 'dest');
    await expect(
      runBatch(ctx, 'bad', (b) => rosaSignPack(b, x, sym, { B: 1, T: 2, C: 5, bits: 2 })),
    ).rejects.toThrow(/C = 5 is not a multiple of bits = 2/);
    await expect(
      runBatch(ctx, 'bad', (b) => rosaSignPack(b, x, sym, { B: 1, T: 3, C: 4, bits: 2 })),
    ).rejects.toThrow(/x "x" has 10 elements, needs 12/);
    await expect(
      runBatch(ctx, 'bad', (b) => rosaSignPack(b, x, y, { B: 1, T: 2, C: 4, bits: 2 })),
    ).rejects.toThrow(/symbols "y" has dtype f32, needs u32/);
    await expect(
      runBatch(ctx, 'bad', (b) =>
        rosaInjectionForward(b, { v: x, e0: x, e1: x, dest, y }, { B: 1, T: 5, C: 2, bits: 1 }),
      ),
    ).rejects.toThrow(/dest "dest" has 5 elements, needs 10/);
    await expect(
      runBatch(ctx, 'bad', (b) =>
        rosaInjectionForward(b, { v: y, e0: x, e1: x, dest, y }, { B: 1, T: 5, C: 1, bits: 1 }),
      ),
    ).rejects.toThrow(/v "y" is the same buffer as the output/);
    destroyTensors(x, sym, y, dest);
  });
});
