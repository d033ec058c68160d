// Wrappers for shaders/elementwise.wgsl: residual adds and gradient accumulation over flat
// f32 tensors. `n` defaults to the output's length.

import type { CommandBatch } from '../batch.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import { needCount, needDistinct, needTensor, spreadWorkgroups } from './workgroups.ts';

/** Invocations per workgroup (one element each). */
export const ELEMENTWISE_WORKGROUP = 256;
const WG = ELEMENTWISE_WORKGROUP;

export const ELEMENTWISE_PARAMS = uniformLayout('elementwise', 'Params', { n: 'u32', alpha: 'f32' });

function dispatch(
  batch: CommandBatch,
  entryPoint: string,
  n: number,
  alpha: number,
  buffers: Tensor[],
  label: string,
): void {
  if (n === 0) return;
  batch.dispatch({
    shader: 'elementwise',
    entryPoint,
    label,
    uniforms: ELEMENTWISE_PARAMS.pack({ n, alpha }),
    buffers,
    workgroups: spreadWorkgroups(Math.ceil(n / WG)),
  });
}

/** out = a + b over the first n elements. */
export function add(batch: CommandBatch, a: Tensor, b: Tensor, out: Tensor, n = out.length): void {
  needCount('add', 'n', n);
  needTensor('add', a, n, 'a');
  needTensor('add', b, n, 'b');
  needTensor('add', out, n, 'out');
  needDistinct('add', out, a, 'a');
  needDistinct('add', out, b, 'b');
  dispatch(batch, 'add', n, 0, [a, b, out], `add ${n}`);
}

/** y += alpha · x (residual add in place, gradient accumulation). */
export function axpy(batch: CommandBatch, x: Tensor, y: Tensor, alpha = 1, n = y.length): void {
  needCount('axpy', 'n', n);
  needTensor('axpy', x, n, 'x');
  needTensor('axpy', y, n, 'y');
  needDistinct('axpy', y, x, 'x');
  dispatch(batch, 'axpy', n, alpha, [x, y], `axpy ${n}`);
}
