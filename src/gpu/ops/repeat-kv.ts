// Wrapper for shaders/repeat-kv.wgsl: grouped-query attention's K/V widening
// ([N, kvHeads·D] → [N, heads·D]) and its backward (the sum over each group of query heads).

import type { CommandBatch } from '../batch.ts';
import { type HeadGroupShape, headGroup } from '../reference/repeat-kv.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import { needCount, needDistinct, needTensor, spreadWorkgroups } from './workgroups.ts';

export type { HeadGroupShape } from '../reference/repeat-kv.ts';

/** Invocations per workgroup (one output element each). */
export const REPEAT_KV_WORKGROUP = 256;
const WG = REPEAT_KV_WORKGROUP;

export const REPEAT_KV_PARAMS = uniformLayout('repeat-kv', 'Params', {
  N: 'u32',
  kvHeads: 'u32',
  group: 'u32',
  D: 'u32',
});

function checkShape(op: string, shape: HeadGroupShape): number {
  needCount(op, 'N', shape.N);
  needCount(op, 'heads', shape.heads, 1);
  needCount(op, 'kvHeads', shape.kvHeads, 1);
  needCount(op, 'D', shape.D, 1);
  return headGroup(shape);
}

/** y [N, heads·D] from x [N, kvHeads·D]: each key/value head copied to its group of query heads. */
export function repeatKvForward(batch: CommandBatch, x: Tensor, y: Tensor, shape: HeadGroupShape): void {
  dispatchRepeatKv(batch, 'forward', { input: x, inputName: 'x', output: y, outputName: 'y' }, shape);
}

/** dx [N, kvHeads·D] (written) = the sum of dy [N, heads·D] over each group of query heads. */
export function repeatKvBackward(batch: CommandBatch, dy: Tensor, dx: Tensor, shape: HeadGroupShape): void {
  dispatchRepeatKv(batch, 'backward', { input: dy, inputName: 'dy', output: dx, outputName: 'dx' }, shape);
}

/** One invocation per output element: forward writes the wide side, backward the narrow one. */
function dispatchRepeatKv(
  batch: CommandBatch,
  entryPoint: 'forward' | 'backward',
  io: { input: Tensor; inputName: string; output: Tensor; outputName: string },
  shape: HeadGroupShape,
): void {
  const op = entryPoint === 'forward' ? 'repeatKvForward' : 'repeatKvBackward';
  const group = checkShape(op, shape);
  const { N, heads, kvHeads, D } = shape;
  const [inHeads, outHeads] = entryPoint === 'forward' ? [kvHeads, heads] : [heads, kvHeads];
  needTensor(op, io.input, N * inHeads * D, io.inputName);
  needTensor(op, io.output, N * outHeads * D, io.outputName);
  needDistinct(op, io.output, io.input, io.inputName);
  const n = N * outHeads * D;
  if (n === 0) return;
  batch.dispatch({
    shader: 'repeat-kv',
    entryPoint,
    label: `repeat kv ${entryPoint} N=${N} ${inHeads}→${outHeads} heads D=${D}`,
    uniforms: REPEAT_KV_PARAMS.pack({ N, kvHeads, group, D }),
    buffers: [io.input, io.output],
    workgroups: spreadWorkgroups(Math.ceil(n / WG)),
  });
}
