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
  const op = 'repeatKvForward';
  const group = checkShape(op, shape);
  const { N, heads, kvHeads, D } = shape;
  needTensor(op, x, N * kvHeads * D, 'x');
  needTensor(op, y, N * heads * D, 'y');
  needDistinct(op, y, x, 'x');
  const n = N * heads * D;
  if (n === 0) return;
  batch.dispatch({
    shader: 'repeat-kv',
    entryPoint: 'forward',
    label: `repeat kv forward N=${N} ${kvHeads}→${heads} heads D=${D}`,
    uniforms: REPEAT_KV_PARAMS.pack({ N, kvHeads, group, D }),
    buffers: [x, y],
    workgroups: spreadWorkgroups(Math.ceil(n / WG)),
  });
}

/** dx [N, kvHeads·D] (written) = the sum of dy [N, heads·D] over each group of query heads. */
export function repeatKvBackward(batch: CommandBatch, dy: Tensor, dx: Tensor, shape: HeadGroupShape): void {
  const op = 'repeatKvBackward';
  const group = checkShape(op, shape);
  const { N, heads, kvHeads, D } = shape;
  needTensor(op, dy, N * heads * D, 'dy');
  needTensor(op, dx, N * kvHeads * D, 'dx');
  needDistinct(op, dx, dy, 'dy');
  const n = N * kvHeads * D;
  if (n === 0) return;
  batch.dispatch({
    shader: 'repeat-kv',
    entryPoint: 'backward',
    label: `repeat kv backward N=${N} ${heads}→${kvHeads} heads D=${D}`,
    uniforms: REPEAT_KV_PARAMS.pack({ N, kvHeads, group, D }),
    buffers: [dy, dx],
    workgroups: spreadWorkgroups(Math.ceil(n / WG)),
  });
}
