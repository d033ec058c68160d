// Benchmarks of the model's glue ops: embedding, RMSNorm, SwiGLU, cross-entropy, AdamW and
// elementwise. Bytes are the minimum each op must move (every input read once, every output
// written once), so GB/s compares against the adapter's memory bandwidth.

import type { CommandBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { AdamW } from '../../src/gpu/ops/adamw.ts';
import { createCrossEntropyOutputs, crossEntropy } from '../../src/gpu/ops/cross-entropy.ts';
import { add, axpy } from '../../src/gpu/ops/elementwise.ts';
import {
  createTokenBuffers,
  embeddingBackward,
  embeddingForward,
  writeTokens,
} from '../../src/gpu/ops/embedding.ts';
import { rmsnormBackward, rmsnormForward } from '../../src/gpu/ops/rmsnorm.ts';
import { swigluBackward, swigluForward } from '../../src/gpu/ops/swiglu.ts';
import type { RowStrategy } from '../../src/gpu/ops/workgroups.ts';
import { randomArray, randomInt, rng } from '../../src/gpu/random.ts';
import { createTensor, destroyTensors, type Tensor } from '../../src/gpu/tensor.ts';
import { type BenchRow, row, type TimingOptions, timeGpu } from './common.ts';

const F32 = 4;
/** Row kernels are timed in both layouts (see preferredRowStrategy). */
const STRATEGIES: RowStrategy[] = ['workgroup', 'invocation'];

export async function benchOps(ctx: GpuContext, size: 'small' | 'medium'): Promise<BenchRow[]> {
  const N = 2048;
  const C = size === 'small' ? 64 : 256;
  const V = 256;
  const H = 3 * C; // MLP width
  const layers = 2;
  // SwiftShader takes ~0.25 ms per workgroup with barriers: fewer repeats there.
  const opts: TimingOptions = ctx.adapter.isSoftware
    ? { warmup: 1, repeats: 3 }
    : { warmup: 3, repeats: 10, inner: 10 };
  const rows: BenchRow[] = [];
  const owned: Tensor[] = [];
  const tensor = (shape: number[], label: string, scale = 1): Tensor => {
    const t = createTensor(
      ctx,
      shape,
      'f32',
      label,
      randomArray(
        shape.reduce((a, b) => a * b, 1),
        owned.length + 1,
        scale,
      ),
    );
    owned.push(t);
    return t;
  };
  const time = (record: (batch: CommandBatch) => void) => timeGpu(ctx, record, opts);
  const shape = `N=${N} C=${C}`;

  // Embedding: a realistic token mix (a few hot ids) for the gather backward.
  const r = rng(7);
  const ids = Int32Array.from({ length: N }, () => (r() < 0.2 ? 0 : randomInt(r, V)));
  const tokens = createTokenBuffers(ctx, N, V);
  writeTokens(ctx, tokens, ids);
  const table = tensor([V, C], 'table');
  const h = tensor([N, C], 'h');
  const dTable = tensor([V, C], 'dTable');
  const eShape = { N, C, V };
  let ms = await time((b) => embeddingForward(b, tokens.tokens, table, h, eShape));
  rows.push(row('embedding.forward', `${shape} V=${V}`, ms, undefined, N * F32 + 2 * N * C * F32));
  ms = await time((b) => embeddingBackward(b, tokens, h, dTable, eShape));
  rows.push(row('embedding.backward', `${shape} V=${V}`, ms, N * C, (N + V + 1 + N * C + V * C) * F32));

  // RMSNorm
  const w = tensor([C], 'w');
  const y = tensor([N, C], 'y');
  const rstd = tensor([N], 'rstd');
  const dy = tensor([N, C], 'dy');
  const dx = tensor([N, C], 'dx');
  const dw = tensor([C], 'dw');
  for (const strategy of STRATEGIES) {
    ms = await time((b) => rmsnormForward(b, h, w, y, rstd, { N, C }, { rows: strategy }));
    rows.push(row(`rmsnorm.forward[${strategy}]`, shape, ms, 4 * N * C, (2 * N * C + C + N) * F32));
    ms = await time((b) => rmsnormBackward(b, h, w, rstd, dy, { dx, dw }, { N, C }, { rows: strategy }));
    rows.push(row(`rmsnorm.backward[${strategy}]`, shape, ms, 10 * N * C, (5 * N * C + 2 * N + 2 * C) * F32));
  }

  // SwiGLU over [N, H]
  const n = N * H;
  const a = tensor([n], 'a', 4);
  const bIn = tensor([n], 'b');
  const gated = tensor([n], 'gated');
  const da = tensor([n], 'da');
  const db = tensor([n], 'db');
  ms = await time((b) => swigluForward(b, a, bIn, gated));
  rows.push(row('swiglu.forward', `N=${N} H=${H}`, ms, 5 * n, 3 * n * F32));
  ms = await time((b) => swigluBackward(b, a, bIn, gated, da, db));
  rows.push(row('swiglu.backward', `N=${N} H=${H}`, ms, 10 * n, 5 * n * F32));

  // Cross-entropy over the vocabulary (labels with 10% ignored)
  const logits = tensor([N, V], 'logits', 4);
  const labels = createTensor(
    ctx,
    [N],
    'i32',
    'labels',
    Int32Array.from({ length: N }, () => (r() < 0.1 ? -1 : randomInt(r, V))),
  );
  owned.push(labels);
  const ceTrain = createCrossEntropyOutputs(ctx, { N, V }, true);
  const ceEval = createCrossEntropyOutputs(ctx, { N, V }, false);
  owned.push(
    ceTrain.losses,
    ceTrain.correct,
    ceTrain.stats,
    ceTrain.dlogits!,
    ceEval.losses,
    ceEval.correct,
    ceEval.stats,
  );
  for (const strategy of STRATEGIES) {
    ms = await time((b) => crossEntropy(b, logits, labels, ceTrain, { N, V }, { rows: strategy }));
    rows.push(
      row(`cross-entropy.loss+grad[${strategy}]`, `N=${N} V=${V}`, ms, 5 * N * V, (2 * N * V + 3 * N) * F32),
    );
    ms = await time((b) => crossEntropy(b, logits, labels, ceEval, { N, V }, { rows: strategy }));
    rows.push(row(`cross-entropy.loss[${strategy}]`, `N=${N} V=${V}`, ms, 4 * N * V, (N * V + 3 * N) * F32));
  }

  // AdamW over a two-layer model's worth of tensors (tied embedding, q/k/v/o, MLP, norms).
  const shapes: number[][] = [[V, C]];
  for (let l = 0; l < layers; l++)
    shapes.push([C, C], [C, C], [C, C], [C, C], [H, C], [H, C], [C, H], [C], [C]);
  shapes.push([C]);
  const params = shapes.map((s, i) => ({ param: tensor(s, `p${i}`), grad: tensor(s, `g${i}`, 0.01) }));
  const total = params.reduce((acc, p) => acc + p.param.length, 0);
  const opt = new AdamW(ctx, [
    { name: 'decay', lr: 1e-3, weightDecay: 0.1, params: params.filter((p) => p.param.shape.length === 2) },
    { name: 'no decay', lr: 1e-3, weightDecay: 0, params: params.filter((p) => p.param.shape.length === 1) },
  ]);
  let step = 0;
  ms = await time((b) => opt.recordStep(b, ++step));
  rows.push(row('adamw.step', `${params.length} tensors, ${total} params`, ms, 12 * total, 8 * total * F32));
  opt.destroy();

  // Elementwise glue
  const big = N * C;
  const x2 = tensor([big], 'x2');
  const sum = tensor([big], 'sum');
  ms = await time((b) => add(b, h, x2, sum));
  rows.push(row('elementwise.add', `n=${big}`, ms, big, 3 * big * F32));
  ms = await time((b) => axpy(b, x2, sum, 0.5));
  rows.push(row('elementwise.axpy', `n=${big}`, ms, 2 * big, 3 * big * F32));

  destroyTensors(...owned, tokens.tokens, tokens.offsets, tokens.positions);
  return rows;
}
