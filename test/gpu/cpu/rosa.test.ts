import { describe, expect, it } from 'vitest';
import {
  rosaInjectionBackwardFast,
  rosaInjectionForwardFast,
  rosaSignPackFast,
} from '../../../src/gpu/cpu/rosa.ts';
import {
  type RosaDims,
  type RosaGradients,
  type RosaGradOptions,
  rosaInjectionBackwardReference,
  rosaInjectionForwardReference,
  rosaSignPackReference,
  scanShapeOf,
} from '../../../src/gpu/reference/rosa.ts';
import { allocateScanOutputs, type RosaMode } from '../../../src/rosa-worker/layout.ts';
import { scanLanes } from '../../../src/rosa-worker/scan.ts';
import { randomArray } from '../../harness/random.ts';
import { activations, randomScanOutputs } from '../../harness/rosa-fixtures.ts';

// The fast ops reorder no sum: they must equal the twins bit for bit (Object.is per element,
// so a -0 for a +0 fails too).

function inputs(dims: RosaDims, seed: number, mode: RosaMode | 'synthetic') {
  const n = dims.B * dims.T * dims.C;
  const q = activations(n, seed);
  const k = activations(n, seed + 1);
  let scan = randomScanOutputs(dims, seed + 9);
  if (mode !== 'synthetic') {
    const shape = scanShapeOf(dims);
    scan = allocateScanOutputs(shape);
    const qSym = rosaSignPackReference(q, dims);
    const kSym = rosaSignPackReference(k, dims);
    scanLanes({ mode, shape, qSym, kSym }, scan);
  }
  return {
    ...dims,
    q,
    k,
    v: activations(n, seed + 2),
    e0: randomArray(dims.C, seed + 3),
    e1: randomArray(dims.C, seed + 4),
    gradY: randomArray(n, seed + 5),
    scan,
  };
}

const cases: Array<[string, RosaDims, RosaMode | 'synthetic', RosaGradOptions]> = [
  ['rosa-tuning, soft fields', { B: 2, T: 37, C: 8, bits: 4 }, 'rosa-tuning', {}],
  ['rwkv8, temperatures', { B: 3, T: 50, C: 6, bits: 2 }, 'rwkv8', { tempQ: 2, tempK: 0.5, tempV: 3 }],
  ['exact, hard Q field', { B: 1, T: 64, C: 8, bits: 8 }, 'exact', { hardVForQ: true }],
  ['synthetic runs, hard K field', { B: 2, T: 29, C: 3, bits: 1 }, 'synthetic', { hardVForK: true }],
  // 4 bits with one field takes the unrolled contrast; hard fields, odd T, B = 3.
  [
    '4 bits, hard fields (unrolled)',
    { B: 3, T: 41, C: 12, bits: 4 },
    'rosa-tuning',
    { hardVForQ: true, hardVForK: true },
  ],
  ['4 bits, synthetic, temperatures', { B: 2, T: 33, C: 8, bits: 4 }, 'synthetic', { tempQ: 0.7, tempV: 2 }],
  ['4 bits, hard K only (not unrolled)', { B: 1, T: 19, C: 4, bits: 4 }, 'rosa-tuning', { hardVForK: true }],
];

/** Element by element with Object.is: NaN equals NaN, +0 differs from -0. */
function expectSameBits(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`${what}[${i}] = ${got[i]}, the twin has ${want[i]}`);
  }
}

function expectSameGradients(got: RosaGradients, want: RosaGradients): void {
  for (const name of ['gradQ', 'gradK', 'gradV', 'gradE0', 'gradE1'] as const)
    expectSameBits(got[name], want[name], name);
}

describe('rosaInjectionBackwardFast equals the twin bit for bit', () => {
  it.each(cases)('%s', (_name, dims, mode, options) => {
    const x = { ...inputs(dims, dims.T, mode), ...options };
    const want = rosaInjectionBackwardReference(x);
    // Twice: the second call reuses the scratch of the first.
    expectSameGradients(rosaInjectionBackwardFast(x), want);
    expectSameGradients(rosaInjectionBackwardFast(x), want);
  });

  it.each(cases)(
    '%s, into targets: overwrites gradQ/K/V, adds to gradE0/E1',
    (_name, dims, mode, options) => {
      const x = { ...inputs(dims, dims.T + 1, mode), ...options };
      const want = rosaInjectionBackwardReference(x);
      const n = dims.B * dims.T * dims.C;
      // Stale values everywhere: gradK is only computed at K-run starts and must be zeroed elsewhere.
      const targets = {
        gradQ: randomArray(n, 1),
        gradK: randomArray(n, 2),
        gradV: randomArray(n, 3),
        gradE0: randomArray(dims.C, 4),
        gradE1: randomArray(dims.C, 5),
      };
      const e0Before = Float32Array.from(targets.gradE0);
      const e1Before = Float32Array.from(targets.gradE1);
      rosaInjectionBackwardFast(x, targets);
      expectSameBits(targets.gradQ, want.gradQ, 'gradQ');
      expectSameBits(targets.gradK, want.gradK, 'gradK');
      expectSameBits(targets.gradV, want.gradV, 'gradV');
      // What the backend did before: y += 1 · x on float32 storage.
      expectSameBits(
        targets.gradE0,
        e0Before.map((y, c) => y + want.gradE0[c]),
        'gradE0',
      );
      expectSameBits(
        targets.gradE1,
        e1Before.map((y, c) => y + want.gradE1[c]),
        'gradE1',
      );
    },
  );

  it('a smaller call after a larger one still starts from clean scratch', () => {
    const big = inputs({ B: 2, T: 80, C: 8, bits: 4 }, 1, 'rosa-tuning');
    const small = inputs({ B: 1, T: 10, C: 4, bits: 2 }, 2, 'rosa-tuning');
    rosaInjectionBackwardFast(big);
    expectSameGradients(rosaInjectionBackwardFast(small), rosaInjectionBackwardReference(small));
  });

  it('names a short array', () => {
    const x = inputs({ B: 1, T: 8, C: 4, bits: 2 }, 3, 'rosa-tuning');
    expect(() => rosaInjectionBackwardFast({ ...x, gradY: new Float32Array(3) })).toThrow(
      'rosaInjectionBackwardFast: gradY has 3 elements, needs 32',
    );
  });
});

const shapes: RosaDims[] = [
  { B: 2, T: 37, C: 8, bits: 4 },
  { B: 3, T: 5, C: 6, bits: 2 },
  { B: 1, T: 64, C: 8, bits: 8 },
  { B: 2, T: 29, C: 3, bits: 1 },
  { B: 1, T: 1, C: 3, bits: 3 },
];

describe('rosaSignPackFast equals the twin', () => {
  it.each(shapes)('%o', (dims) => {
    const x = activations(dims.B * dims.T * dims.C, dims.T, 0.2);
    // NaN and -0 count as "not > 0", like exact zeros.
    x[0] = Number.NaN;
    x[1] = -0;
    const want = rosaSignPackReference(x, dims);
    expectSameBits(rosaSignPackFast(x, dims), want, 'symbols');
    // Into a dirty buffer: every byte, padding included, is written.
    const out = new Uint8Array(want.length).fill(0xff);
    rosaSignPackFast(x, dims, out);
    expectSameBits(out, want, 'symbols in place');
  });

  it('names a short output', () => {
    const dims = { B: 1, T: 5, C: 4, bits: 2 };
    expect(() => rosaSignPackFast(new Float32Array(20), dims, new Uint8Array(3))).toThrow(
      'rosaSignPackFast: out has 3 elements, needs 16',
    );
  });
});

describe('rosaInjectionForwardFast equals the twin', () => {
  it.each(shapes)('%o', (dims) => {
    const x = inputs(dims, dims.T + 7, 'synthetic');
    const want = rosaInjectionForwardReference(x.v, x.e0, x.e1, x.scan.dest, dims);
    // Into stale values: unmatched routes must be written as exactly 0.
    const y = randomArray(want.length, 11);
    rosaInjectionForwardFast(x.v, x.e0, x.e1, x.scan.dest, dims, y);
    expectSameBits(y, want, 'y');
  });

  it('names a short dest', () => {
    const dims = { B: 1, T: 4, C: 4, bits: 2 };
    const v = new Float32Array(16);
    const e = new Float32Array(4);
    expect(() => rosaInjectionForwardFast(v, e, e, new Int32Array(3), dims, new Float32Array(16))).toThrow(
      'rosaInjectionForwardFast: dest has 3 elements, needs 8',
    );
  });
});
