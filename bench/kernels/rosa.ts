// ROSA kernels: sign-pack, injection forward, counterfactual backward (all six dispatches).
// Scan outputs come from random-but-consistent index streams with the density of a real scan on
// random signs (most positions matched, most counterfactuals landing); the kernels' cost depends
// only on the index lists' lengths, not on how they were found.
// Bytes are the compulsory traffic: every tensor a kernel touches counted once (gathers that
// re-read rows are not counted again), so GB/s is a lower bound on the achieved bandwidth.

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
import { randomArray, rng } from '../../src/gpu/random.ts';
import type { RosaDims } from '../../src/gpu/reference/rosa.ts';
import { createTensor, destroyTensors } from '../../src/gpu/tensor.ts';
import { allocateScanOutputs, buildInverseIndices, type ScanOutputs } from '../../src/rosa-worker/layout.ts';
import { type BenchRow, row, timeGpu } from './common.ts';

/** Scan-shaped indices: runs of 1–3 steps, 85% of positions matched, 80% of counterfactuals land. */
function syntheticScan({ B, T, C, bits }: RosaDims, seed: number): ScanOutputs {
  const lanes = B * (C / bits);
  const shape = { lanes, T, bits };
  const out = allocateScanOutputs(shape);
  const r = rng(seed);
  out.kRunStart.fill(-1);
  out.rcf.fill(-1);
  for (let lane = 0; lane < lanes; lane++) {
    const base = lane * T;
    let nK = 0;
    let nQ = 0;
    for (let t = 0; t < T; t++) {
      if (t === 0 || r() < 0.6) out.kRunStart[base + nK++] = t;
      if (t > 0 && r() < 0.6) nQ++;
      out.qRunId[base + t] = nQ;
      out.dest[base + t] = r() < 0.15 ? -1 : out.kRunStart[base + Math.floor(r() * nK)];
    }
    for (let u = 0; u <= nQ; u++) {
      for (let jb = 0; jb < bits * 2; jb++)
        out.rcf[(base + u) * bits * 2 + jb] = r() < 0.2 ? -1 : Math.floor(r() * nK);
    }
  }
  buildInverseIndices(out, shape);
  return out;
}

function describe({ B, T, C, bits }: RosaDims): string {
  return `B=${B} T=${T} C=${C} bits=${bits}`;
}

export async function benchRosa(ctx: GpuContext, size: 'small' | 'medium'): Promise<BenchRow[]> {
  const shapes: RosaDims[] =
    size === 'small'
      ? [{ B: 1, T: 512, C: 64, bits: 4 }]
      : [
          { B: 1, T: 512, C: 64, bits: 4 },
          { B: 1, T: 2048, C: 64, bits: 4 },
        ];
  const rows: BenchRow[] = [];
  for (const dims of shapes) {
    const { B, T, C, bits } = dims;
    const n = B * T * C;
    const lanesT = B * (C / bits) * T;
    const f32 = (label: string, seed: number) => createTensor(ctx, [n], 'f32', label, randomArray(n, seed));
    const q = f32('q', 1);
    const k = f32('k', 2);
    const v = f32('v', 3);
    const gradY = f32('gradY', 4);
    const e0 = createTensor(ctx, [C], 'f32', 'e0', randomArray(C, 5));
    const e1 = createTensor(ctx, [C], 'f32', 'e1', randomArray(C, 6));
    const y = createTensor(ctx, [n], 'f32', 'y');
    const gradQ = createTensor(ctx, [n], 'f32', 'gradQ');
    const gradK = createTensor(ctx, [n], 'f32', 'gradK');
    const gradV = createTensor(ctx, [n], 'f32', 'gradV');
    const gradE0 = createTensor(ctx, [C], 'f32', 'gradE0');
    const gradE1 = createTensor(ctx, [C], 'f32', 'gradE1');
    const symbols = createTensor(ctx, [signPackWords(dims)], 'u32', 'symbols');
    const scan = createScanTensors(ctx, dims, syntheticScan(dims, 7));
    const scratch = createRosaBackwardScratch(ctx, dims);

    const packMs = await timeGpu(ctx, (batch) => rosaSignPack(batch, q, symbols, dims));
    rows.push(row('rosa sign-pack', describe(dims), packMs, undefined, 4 * n + lanesT));

    const injMs = await timeGpu(ctx, (batch) =>
      rosaInjectionForward(batch, { v, e0, e1, dest: scan.dest, y }, dims),
    );
    // v, y, dest and e0/e1 once each.
    rows.push(row('rosa injection forward', describe(dims), injMs, undefined, 8 * n + 4 * lanesT + 8 * C));

    const backMs = await timeGpu(ctx, (batch) =>
      rosaInjectionBackward(
        batch,
        { q, k, v, e0, e1, gradY, scan, scratch, gradQ, gradK, gradV, gradE0, gradE1 },
        dims,
      ),
    );
    // Per stage: θ (g in, θ out); V (v, θ, 2 lists, gradV); Q (q, v, θ, qRunId, rcf, kRunStart,
    // gradQ); K (k, v, θ, kRunStart, 2 cf lists, gradK); e (g, v, dest).
    const rcfWords = lanesT * bits * 2;
    const bytes =
      4 *
      (2 * n +
        (3 * n + 2 * lanesT) +
        (4 * n + 2 * lanesT + rcfWords) +
        (4 * n + lanesT + 2 * rcfWords) +
        (2 * n + lanesT));
    rows.push(row('rosa counterfactual backward', describe(dims), backMs, undefined, bytes));

    destroyTensors(q, k, v, gradY, e0, e1, y, gradQ, gradK, gradV, gradE0, gradE1, symbols);
    destroyScanTensors(scan);
    destroyRosaBackwardScratch(scratch);
  }
  return rows;
}
