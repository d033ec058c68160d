// LRSA kernels: LagKV selection, attention forward and forward+backward, against T.
// FLOP counts are the work the kernels execute: per visible (query, key) pair 4·D for the
// forward (q·k, p·v) and 14·D for the backward (dq pass: q·k, dout·v, ds·k; dk/dv pass: q·k,
// dout·v, p·dout, ds·q). `pairRatio` is the visible pairs over dense causal T(T+1)/2, the
// cost ratio to dense causal attention; the `dense-equivalent` rows run the same kernels with
// keep = L, which makes every token visible (exact dense causal attention), so `timeRatio`
// compares measured times on one adapter.

import { CommandBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import {
  lagkvSelect,
  lrsaAttentionBackward,
  lrsaAttentionForward,
  lrsaTensorSizes,
} from '../../src/gpu/ops/lrsa.ts';
import { randomArray } from '../../src/gpu/random.ts';
import {
  type LrsaShape,
  lagkvKeepCount,
  lrsaChunkCounts,
  lrsaVisiblePairs,
} from '../../src/gpu/reference/lrsa.ts';
import { createTensor, destroyTensors, type Tensor } from '../../src/gpu/tensor.ts';
import { type BenchRow, row, timeGpu } from './common.ts';

const CHANNELS = 64;
const HEADS = 2;
const CHUNK = 32;
const RATIO = 0.25;
const SINK = 4;

function allocate(ctx: GpuContext, shape: LrsaShape) {
  const sizes = lrsaTensorSizes(shape);
  const n = sizes.activations;
  const all: Tensor[] = [];
  const f32 = (len: number, label: string, seed?: number) => {
    const t = createTensor(ctx, [len], 'f32', label, seed === undefined ? undefined : randomArray(len, seed));
    all.push(t);
    return t;
  };
  const selected = createTensor(ctx, [sizes.selected], 'i32', 'selected');
  all.push(selected);
  const t = {
    q: f32(n, 'q', 1),
    k: f32(n, 'k', 2),
    v: f32(n, 'v', 3),
    dout: f32(n, 'dout', 4),
    selected,
    scores: f32(sizes.scores, 'scores'),
    out: f32(n, 'out'),
    lse: f32(sizes.lse, 'lse'),
    rowStats: f32(sizes.rowStats, 'rowStats'),
    dq: f32(n, 'dq'),
    dk: f32(n, 'dk'),
    dv: f32(n, 'dv'),
  };
  return { t, destroy: () => destroyTensors(...all) };
}

export async function benchLrsa(ctx: GpuContext, size: 'small' | 'medium'): Promise<BenchRow[]> {
  const lengths = size === 'small' ? [512, 1024] : [512, 1024, 2048];
  const rows: BenchRow[] = [];
  const D = CHANNELS / HEADS;
  for (const T of lengths) {
    const keep = lagkvKeepCount(CHUNK, RATIO);
    const timing = T >= 2048 ? { warmup: 1, repeats: 3 } : { warmup: 1, repeats: 5 };
    for (const variant of ['lrsa', 'dense-equivalent'] as const) {
      if (variant === 'dense-equivalent' && T > 1024 && size !== 'medium') continue;
      const shape: LrsaShape = {
        batch: 1,
        seqLen: T,
        heads: HEADS,
        headDim: D,
        sink: SINK,
        chunk: CHUNK,
        keep: variant === 'lrsa' ? keep : CHUNK,
      };
      const label = `T=${T} C=${CHANNELS} H=${HEADS} S=${SINK} L=${CHUNK} keep=${shape.keep}`;
      const pairs = HEADS * lrsaVisiblePairs(shape);
      const densePairs = (HEADS * T * (T + 1)) / 2;
      const { t, destroy } = allocate(ctx, shape);
      // A real selection so the attention reads realistic (scattered) key positions.
      const prepare = new CommandBatch(ctx, 'lrsa bench select');
      lagkvSelect(prepare, t.k, t.v, t.selected, t.scores, shape);
      prepare.submit();
      await ctx.device.queue.onSubmittedWorkDone();

      if (variant === 'lrsa') {
        const P = lrsaChunkCounts(shape).scoredChunks;
        const selectMs = await timeGpu(
          ctx,
          (b) => lagkvSelect(b, t.k, t.v, t.selected, t.scores, shape),
          timing,
        );
        // Per scored chunk and head, K and V: min/max (2·L·D), two normalising passes (6·L·D),
        // rank test (L²).
        const selectFlops = HEADS * P * (2 * 8 * CHUNK * D + CHUNK * CHUNK);
        const selectBytes = HEADS * P * 2 * 2 * CHUNK * D * 4;
        rows.push(row('lagkvSelect', label, selectMs, selectFlops, selectBytes));
      }
      const forwardMs = await timeGpu(
        ctx,
        (b) => lrsaAttentionForward(b, t.q, t.k, t.v, t.selected, t.out, t.lse, shape),
        timing,
      );
      const fwdBwdMs = await timeGpu(
        ctx,
        (b) => {
          lrsaAttentionForward(b, t.q, t.k, t.v, t.selected, t.out, t.lse, shape);
          lrsaAttentionBackward(b, t, shape);
        },
        timing,
      );
      const forwardRow = row(`lrsaAttentionForward ${variant}`, label, forwardMs, 4 * D * pairs);
      const bothRow = row(`lrsaAttention fwd+bwd ${variant}`, label, fwdBwdMs, 18 * D * pairs);
      for (const r of [forwardRow, bothRow]) {
        r.pairs = pairs;
        r.pairRatio = Number((pairs / densePairs).toFixed(4));
      }
      rows.push(forwardRow, bothRow);
      destroy();
    }
  }
  // Measured time ratios against the dense-equivalent rows of the same T.
  for (const r of rows) {
    if (!r.kernel.endsWith(' lrsa')) continue;
    const T = r.shape.split(' ')[0];
    const dense = rows.find(
      (d) => d.kernel === r.kernel.replace(/ lrsa$/, ' dense-equivalent') && d.shape.startsWith(`${T} `),
    );
    if (dense) r.timeRatio = Number((r.ms / dense.ms).toFixed(4));
  }
  return rows;
}
