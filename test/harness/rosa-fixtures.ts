// Test inputs for the ROSA kernels and twins: activations with exact zeros (the > 0 rule),
// random-but-consistent scan outputs, and vector E of docs/rosa-spec.md §8 / rosaTuningLayer.

import { type RosaDims, scanShapeOf } from '../../src/gpu/reference/rosa.ts';
import { allocateScanOutputs, buildInverseIndices, type ScanOutputs } from '../../src/rosa-worker/layout.ts';
import vectors from '../vectors/rosa-public.json' with { type: 'json' };
import { randomInt, rng } from './random.ts';

/** Uniform in [-1, 1) with about `zeroFraction` of the entries exactly 0. */
export function activations(n: number, seed: number, zeroFraction = 0.1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() < zeroFraction ? 0 : r() * 2 - 1;
  return out;
}

/**
 * Scan outputs with the structure of the real scan but random content, for every lane:
 * K-runs start at 0 and ascend; Q-run ids ascend from 0 by 0 or 1; rcf rows of existing Q-runs
 * point at existing K-runs or -1; dest is -1 or the start of a K-run at or before t.
 * The inverse lists are built from them as the scan pool would.
 */
export function randomScanOutputs(dims: RosaDims, seed: number): ScanOutputs {
  const shape = scanShapeOf(dims);
  const { lanes, T, bits } = shape;
  const out = allocateScanOutputs(shape);
  const r = rng(seed);
  out.kRunStart.fill(-1);
  out.rcf.fill(-1);
  for (let lane = 0; lane < lanes; lane++) {
    const base = lane * T;
    const newRun = 0.2 + 0.6 * r();
    let nK = 0;
    let nQ = 0;
    for (let t = 0; t < T; t++) {
      if (t === 0 || r() < newRun) out.kRunStart[base + nK++] = t;
      if (t > 0 && r() < newRun) nQ++;
      out.qRunId[base + t] = nQ;
      // Runs that have started by t: indices 0 .. nK − 1.
      out.dest[base + t] = r() < 0.3 ? -1 : out.kRunStart[base + randomInt(r, nK)];
    }
    nQ++;
    for (let u = 0; u < nQ; u++) {
      for (let jb = 0; jb < bits * 2; jb++) {
        out.rcf[(base + u) * bits * 2 + jb] = r() < 0.3 ? -1 : randomInt(r, nK);
      }
    }
  }
  buildInverseIndices(out, shape);
  return out;
}

export interface LayerVector {
  bits: number;
  T: number;
  C: number;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  e0: Float32Array;
  e1: Float32Array;
  gradY: Float32Array;
  y: Float32Array;
  gradQ: Float32Array;
  gradK: Float32Array;
  gradV: Float32Array;
}

const flat = (rows: number[][]) => Float32Array.from(rows.flat());

/** The rosaTuningLayer vectors (the first one is §8 E), flattened to row-major T×C. */
export function layerVectors(): LayerVector[] {
  return vectors.rosaTuningLayer.map((x) => ({
    bits: x.bits,
    T: x.q.length,
    C: x.q[0]?.length ?? 0,
    q: flat(x.q),
    k: flat(x.k),
    v: flat(x.v),
    e0: Float32Array.from(x.e0),
    e1: Float32Array.from(x.e1),
    gradY: flat(x.gradY),
    y: flat(x.y),
    gradQ: flat(x.gradQ),
    gradK: flat(x.gradK),
    gradV: flat(x.gradV),
  }));
}

/** The scan of §8 E as printed in docs/rosa-spec.md (one route, bits 2, T 6), with inverse lists. */
export function vectorEScan(): ScanOutputs {
  const T = 6;
  const bits = 2;
  const out = allocateScanOutputs({ lanes: 1, T, bits });
  out.dest.set([-1, 1, 2, 3, 4, 5]);
  out.qRunId.set([0, 1, 2, 3, 4, 5]);
  out.kRunStart.set([0, 1, 2, 3, 4, 5]);
  const rcf = [
    [
      [-1, -1],
      [-1, -1],
    ],
    [
      [-1, 1],
      [1, -1],
    ],
    [
      [2, -1],
      [-1, 2],
    ],
    [
      [2, 3],
      [-1, 3],
    ],
    [
      [-1, 4],
      [4, 3],
    ],
    [
      [5, -1],
      [-1, 5],
    ],
  ];
  out.rcf.set(rcf.flat(2));
  buildInverseIndices(out, { lanes: 1, T, bits });
  return out;
}
