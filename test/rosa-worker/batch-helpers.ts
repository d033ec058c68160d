// Random batches in the layout of layout.ts, with lanes of different kinds (random, run-heavy,
// periodic), and checks shared by the batched and pooled tests.

import { expect } from 'vitest';
import { rng } from '../../src/gpu/random.ts';
import {
  allocateScanInputs,
  laneStrides,
  type RosaMode,
  type ScanOutputs,
  type ScanShape,
} from '../../src/rosa-worker/layout.ts';
import { rosaTuningScan, type ScanInput } from '../../src/rosa-worker/scan.ts';

export function randomBatch(shape: ScanShape, mode: RosaMode, seed: number, shared = false): ScanInput {
  const { qSym, kSym } = allocateScanInputs(shape, shared);
  const r = rng(seed);
  const per = laneStrides(shape).sym;
  const top = 1 << shape.bits;
  for (let lane = 0; lane < shape.lanes; lane++) {
    const kind = lane % 3;
    const period = 1 + Math.floor(r() * 5);
    const shift = Math.floor(r() * 4);
    let q = 0;
    let k = 0;
    for (let t = 0; t < shape.T; t++) {
      const i = lane * per + t;
      if (kind === 0) {
        q = Math.floor(r() * top);
        k = Math.floor(r() * top);
      } else if (kind === 1) {
        if (r() < 0.25) q = Math.floor(r() * top);
        if (r() < 0.25) k = Math.floor(r() * top);
      } else {
        k = (t % period) % top;
        q = ((t + shift) % period) % top;
        if (r() < 0.01) q = Math.floor(r() * top);
      }
      qSym[i] = q;
      kSym[i] = k;
    }
    // Padding bytes are not symbols; fill them with junk the scan must ignore.
    for (let t = shape.T; t < per; t++) {
      qSym[lane * per + t] = 0xff;
      kSym[lane * per + t] = 0xff;
    }
  }
  return { mode, shape, qSym, kSym };
}

/** Each lane of the batched outputs equals the single-route API on that lane's symbols. */
export function expectLanesMatchSingleRoute(
  input: ScanInput,
  out: ScanOutputs,
  lanes: Iterable<number>,
): void {
  const { T, bits } = input.shape;
  const per = laneStrides(input.shape);
  for (const lane of lanes) {
    const q = input.qSym.subarray(lane * per.sym, lane * per.sym + T);
    const k = input.kSym.subarray(lane * per.sym, lane * per.sym + T);
    const want = rosaTuningScan(q, k, bits, input.mode);
    const rows = (a: Int32Array, n: number) => Array.from(a.subarray(lane * n, (lane + 1) * n));
    const label = `lane ${lane} (${input.mode})`;
    expect(rows(out.dest, T), label).toEqual(Array.from(want.dest));
    expect(rows(out.qRunId, T), label).toEqual(Array.from(want.qRunId));
    const rcf = rows(out.rcf, T * bits * 2);
    expect(rcf.slice(0, want.rcf.length), label).toEqual(Array.from(want.rcf));
    expect(
      rcf.slice(want.rcf.length).every((x) => x === -1),
      `${label}: rcf rows past the last Q-run`,
    ).toBe(true);
    const starts = rows(out.kRunStart, T);
    expect(starts.slice(0, want.kRunStart.length), label).toEqual(Array.from(want.kRunStart));
    expect(
      starts.slice(want.kRunStart.length).every((x) => x === -1),
      label,
    ).toBe(true);
  }
}

/** The CSR lists list exactly the positions whose dest / counterfactual lands on each key. */
export function expectInverseListsConsistent(
  out: ScanOutputs,
  shape: ScanShape,
  lanes: Iterable<number>,
): void {
  const { T, bits } = shape;
  const width = bits * 2;
  const keys = T * width;
  for (const lane of lanes) {
    const byTau: number[][] = Array.from({ length: T }, () => []);
    const byKey: number[][] = Array.from({ length: keys }, () => []);
    for (let t = 0; t < T; t++) {
      const tau = out.dest[lane * T + t];
      if (tau >= 0) byTau[tau].push(t);
      const u = out.qRunId[lane * T + t];
      for (let jb = 0; jb < width; jb++) {
        const l = out.rcf[lane * keys + u * width + jb];
        if (l >= 0) byKey[l * width + jb].push(t);
      }
    }
    for (let tau = 0; tau < T; tau++) {
      const a = out.destInvOffsets[lane * (T + 1) + tau];
      const b = out.destInvOffsets[lane * (T + 1) + tau + 1];
      expect(Array.from(out.destInvPositions.subarray(lane * T + a, lane * T + b))).toEqual(byTau[tau]);
    }
    for (let key = 0; key < keys; key++) {
      const a = out.cfInvOffsets[lane * (keys + 1) + key];
      const b = out.cfInvOffsets[lane * (keys + 1) + key + 1];
      expect(Array.from(out.cfInvPositions.subarray(lane * keys + a, lane * keys + b))).toEqual(byKey[key]);
    }
  }
}

export function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
