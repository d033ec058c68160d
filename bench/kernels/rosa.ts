// ROSA kernels: sign-pack, injection forward, counterfactual backward (all six stages, and each
// stage alone). Scan outputs come from the real CPU scan ('rosa-tuning') of random activations'
// signs, so the inverse lists have the lengths training sees on unstructured input.
// Bytes are the compulsory traffic: every tensor a kernel touches counted once (gathers that
// re-read rows are not counted again), so GB/s is a lower bound on the achieved bandwidth.

import type { GpuContext } from '../../src/gpu/context.ts';
import {
  createRosaBackwardScratch,
  createScanTensors,
  destroyRosaBackwardScratch,
  destroyScanTensors,
  rosaInjectionBackward,
  rosaInjectionBackwardStages,
  rosaInjectionForward,
  rosaSignPack,
  signPackWords,
} from '../../src/gpu/ops/rosa.ts';
import { randomArray } from '../../src/gpu/random.ts';
import { type RosaDims, rosaScanFromActivations, scanShapeOf } from '../../src/gpu/reference/rosa.ts';
import { createTensor, destroyTensors } from '../../src/gpu/tensor.ts';
import { type BenchRow, row, timeGpu } from './common.ts';

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
    const lanesT = scanShapeOf(dims).lanes * T;
    const qData = randomArray(n, 1);
    const kData = randomArray(n, 2);
    const f32 = (label: string, seed: number) => createTensor(ctx, [n], 'f32', label, randomArray(n, seed));
    const q = createTensor(ctx, [n], 'f32', 'q', qData);
    const k = createTensor(ctx, [n], 'f32', 'k', kData);
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
    const scan = createScanTensors(ctx, dims, rosaScanFromActivations(qData, kData, dims).scan);
    const scratch = createRosaBackwardScratch(ctx, dims);

    const packMs = await timeGpu(ctx, (batch) => rosaSignPack(batch, q, symbols, dims));
    rows.push(row('rosa sign-pack', describe(dims), packMs, undefined, 4 * n + lanesT));

    const injMs = await timeGpu(ctx, (batch) =>
      rosaInjectionForward(batch, { v, e0, e1, dest: scan.dest, y }, dims),
    );
    // v, y, dest and e0/e1 once each.
    rows.push(row('rosa injection forward', describe(dims), injMs, undefined, 8 * n + 4 * lanesT + 8 * C));

    const tensors = { q, k, v, e0, e1, gradY, scan, scratch, gradQ, gradK, gradV, gradE0, gradE1 };
    const backMs = await timeGpu(ctx, (batch) => rosaInjectionBackward(batch, tensors, dims));
    // Compulsory bytes per stage: θ (g, v in; θ, W out); V (v, θ, 2 lists, gradV); Q (q, W, θ,
    // qRunId, rcf, kRunStart, gradQ); K (k, v, θ, kRunStart, 2 cf lists, gradK); e (g, v, dest);
    // e final (partials, negligible).
    const rcfWords = lanesT * bits * 2;
    const stageBytes: Record<string, number> = {
      theta: 4 * 4 * n,
      grad_v: 4 * (3 * n + 2 * lanesT),
      grad_q: 4 * (4 * n + 2 * lanesT + rcfWords),
      grad_k: 4 * (4 * n + lanesT + 2 * rcfWords),
      grad_e_partial: 4 * (2 * n + lanesT),
      grad_e_final: 0,
    };
    const total = Object.values(stageBytes).reduce((a, b2) => a + b2, 0);
    rows.push(row('rosa counterfactual backward', describe(dims), backMs, undefined, total));
    for (const stage of rosaInjectionBackwardStages(tensors, dims)) {
      const ms = await timeGpu(ctx, (batch) => batch.dispatch(stage), { inner: 4 });
      const name = stage.entryPoint ?? 'main';
      rows.push(row(`rosa backward ${name}`, describe(dims), ms, undefined, stageBytes[name] || undefined));
    }

    destroyTensors(q, k, v, gradY, e0, e1, y, gradQ, gradK, gradV, gradE0, gradE1, symbols);
    destroyScanTensors(scan);
    destroyRosaBackwardScratch(scratch);
  }
  return rows;
}
