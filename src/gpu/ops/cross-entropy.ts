// Wrapper for shaders/cross-entropy.wgsl: softmax cross-entropy over the vocabulary with
// ignored rows (label < 0), the gradient of the mean loss, per-row correctness, and the
// batch's mean loss / count / accuracy reduced on the GPU into a small stats buffer, so a
// training step needs one read-back of 8 floats for its metrics.
// Layouts: logits, dlogits [N, V] row-major; labels i32 [N]; losses f32 [N]; correct u32 [N].

import type { CommandBatch } from '../batch.ts';
import type { GpuContext } from '../context.ts';
import { GpuError } from '../errors.ts';
import { createTensor, readTensor, type Tensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import { needCount, needDistinct, needTensor, type RowStrategy, rowWorkgroups } from './workgroups.ts';

export { checkLabels } from '../reference/cross-entropy.ts';

/** Word offsets in the stats buffer. */
export const CE_STATS = {
  meanLoss: 0,
  count: 1,
  correct: 2,
  accuracy: 3,
  lossSum: 4,
  /** Labels ≥ V: treated as ignored, reported so the caller can fail loudly. */
  invalidLabels: 5,
} as const;
export const CE_STATS_LENGTH = 8;

/** Invocations per workgroup: with a workgroup per row, small vocabularies leave big ones idle. */
export function crossEntropyWorkgroupSize(V: number, rows: RowStrategy = 'workgroup'): number {
  return rows === 'invocation' || V <= 1024 ? 64 : 256;
}

/** Invocations of the single-workgroup passes (count_labels, finish). */
export const CE_REDUCE_WORKGROUP = 256;

/** Every entry point's uniform struct. */
export const CROSS_ENTROPY_PARAMS = uniformLayout('cross-entropy', 'Params', {
  N: 'u32',
  V: 'u32',
  scale: 'f32',
});

export interface CrossEntropyShape {
  N: number;
  V: number;
}

export interface CrossEntropyOutputs {
  /** f32 [N]: per-row loss, 0 on ignored rows. */
  losses: Tensor;
  /** u32 [N]: 1 where argmax(logits) = label (ties to the lowest index), 0 elsewhere and on ignored rows. */
  correct: Tensor;
  /** f32 [CE_STATS_LENGTH], see CE_STATS. */
  stats: Tensor;
  /** f32 [N, V]: gradient of scale · mean loss w.r.t. the logits; omit for evaluation (loss only). */
  dlogits?: Tensor;
}

export interface CrossEntropyStats {
  meanLoss: number;
  count: number;
  correctCount: number;
  accuracy: number;
  lossSum: number;
  invalidLabels: number;
}

/** Allocates the outputs for N rows (and dlogits [N, V] when withGradient). */
export function createCrossEntropyOutputs(
  ctx: GpuContext,
  { N, V }: CrossEntropyShape,
  withGradient: boolean,
  label = 'cross-entropy',
): CrossEntropyOutputs {
  const out: CrossEntropyOutputs = {
    losses: createTensor(ctx, [N], 'f32', `${label}:losses`),
    correct: createTensor(ctx, [N], 'u32', `${label}:correct`),
    stats: createTensor(ctx, [CE_STATS_LENGTH], 'f32', `${label}:stats`),
  };
  if (withGradient) out.dlogits = createTensor(ctx, [N, V], 'f32', `${label}:dlogits`);
  return out;
}

/**
 * Records the loss (and gradient when outputs.dlogits is given). `scale` multiplies the
 * gradient (e.g. 1 / micro-batches for gradient accumulation); the reported loss is not scaled.
 * `rows` picks the kernel layout (preferredRowStrategy(ctx.adapter, V) is a good default).
 */
export function crossEntropy(
  batch: CommandBatch,
  logits: Tensor,
  labels: Tensor,
  outputs: CrossEntropyOutputs,
  shape: CrossEntropyShape,
  { scale = 1, rows = 'workgroup' }: { scale?: number; rows?: RowStrategy } = {},
): void {
  const op = 'crossEntropy';
  const { N, V } = shape;
  needCount(op, 'N', N);
  needCount(op, 'V', V, 1);
  needTensor(op, logits, N * V, 'logits');
  needTensor(op, labels, N, 'labels', 'i32');
  needTensor(op, outputs.losses, N, 'losses');
  needTensor(op, outputs.correct, N, 'correct', 'u32');
  needTensor(op, outputs.stats, CE_STATS_LENGTH, 'stats');
  if (outputs.dlogits) {
    needTensor(op, outputs.dlogits, N * V, 'dlogits');
    needDistinct(op, outputs.dlogits, logits, 'logits');
  }
  if (!Number.isFinite(scale)) throw new GpuError('validation', `${op}: scale = ${scale} must be finite`);
  const uniforms = CROSS_ENTROPY_PARAMS.pack({ N, V, scale });
  const reduce = { WG: CE_REDUCE_WORKGROUP };
  batch.dispatch({
    shader: 'cross-entropy',
    entryPoint: 'count_labels',
    label: `cross-entropy count N=${N}`,
    constants: reduce,
    uniforms,
    buffers: [labels, outputs.stats],
    workgroups: [1],
  });
  if (N > 0) {
    const grad = outputs.dlogits !== undefined;
    const wg = crossEntropyWorkgroupSize(V, rows);
    batch.dispatch({
      shader: 'cross-entropy',
      entryPoint: (grad ? 'rows_grad' : 'rows_loss') + (rows === 'workgroup' ? '' : '_serial'),
      label: `cross-entropy rows N=${N} V=${V}`,
      constants: { WG: wg },
      uniforms,
      buffers: grad
        ? [logits, labels, outputs.losses, outputs.correct, outputs.stats, outputs.dlogits!]
        : [logits, labels, outputs.losses, outputs.correct],
      workgroups: rowWorkgroups(N, rows, wg),
    });
  }
  batch.dispatch({
    shader: 'cross-entropy',
    entryPoint: 'finish',
    label: `cross-entropy finish N=${N}`,
    constants: reduce,
    uniforms,
    buffers: [outputs.losses, outputs.correct, outputs.stats],
    workgroups: [1],
  });
}

export function decodeCrossEntropyStats(stats: ArrayLike<number>): CrossEntropyStats {
  return {
    meanLoss: stats[CE_STATS.meanLoss],
    count: stats[CE_STATS.count],
    correctCount: stats[CE_STATS.correct],
    accuracy: stats[CE_STATS.accuracy],
    lossSum: stats[CE_STATS.lossSum],
    invalidLabels: stats[CE_STATS.invalidLabels],
  };
}

/** Reads the stats back; throws when any label was ≥ V (those rows were ignored). */
export async function readCrossEntropyStats(
  ctx: GpuContext,
  stats: Tensor,
  { V }: { V?: number } = {},
): Promise<CrossEntropyStats> {
  return checkedCrossEntropyStats(await readTensor(ctx, stats), { V });
}

/** Decodes stats read back (alone or with other values); throws when any label was ≥ V. */
export function checkedCrossEntropyStats(
  stats: ArrayLike<number>,
  { V }: { V?: number } = {},
): CrossEntropyStats {
  const decoded = decodeCrossEntropyStats(stats);
  if (decoded.invalidLabels > 0) {
    throw new GpuError(
      'validation',
      `crossEntropy: ${decoded.invalidLabels} labels were ≥ the vocabulary size${V !== undefined ? ` V = ${V}` : ''} ` +
        '(only negative labels mean "ignore"); check the batch with checkLabels before uploading',
    );
  }
  return decoded;
}
