import { describe, expect, it } from 'vitest';
import { rosaInjectionBackwardFast } from '../../../src/gpu/cpu/rosa.ts';
import {
  type RosaDims,
  type RosaGradOptions,
  rosaInjectionBackwardReference,
  rosaSignPackReference,
  scanShapeOf,
} from '../../../src/gpu/reference/rosa.ts';
import { allocateScanOutputs, type RosaMode } from '../../../src/rosa-worker/layout.ts';
import { scanLanes } from '../../../src/rosa-worker/scan.ts';
import { randomArray } from '../../harness/random.ts';
import { activations, randomScanOutputs } from '../../harness/rosa-fixtures.ts';

// The fast backward reorders nothing: it must equal the float64 twin bit for bit.

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
];

describe('rosaInjectionBackwardFast equals the twin bit for bit', () => {
  it.each(cases)('%s', (_name, dims, mode, options) => {
    const x = { ...inputs(dims, dims.T, mode), ...options };
    const want = rosaInjectionBackwardReference(x);
    // Twice: the second call reuses the scratch of the first.
    expect(rosaInjectionBackwardFast(x)).toEqual(want);
    expect(rosaInjectionBackwardFast(x)).toEqual(want);
  });

  it('a smaller call after a larger one still starts from clean scratch', () => {
    const big = inputs({ B: 2, T: 80, C: 8, bits: 4 }, 1, 'rosa-tuning');
    const small = inputs({ B: 1, T: 10, C: 4, bits: 2 }, 2, 'rosa-tuning');
    rosaInjectionBackwardFast(big);
    expect(rosaInjectionBackwardFast(small)).toEqual(rosaInjectionBackwardReference(small));
  });

  it('names a short array', () => {
    const x = inputs({ B: 1, T: 8, C: 4, bits: 2 }, 3, 'rosa-tuning');
    expect(() => rosaInjectionBackwardFast({ ...x, gradY: new Float32Array(3) })).toThrow(
      'rosaInjectionBackwardFast: gradY has 3 elements, needs 32',
    );
  });
});
