// Wrappers for shaders/elementwise.wgsl: residual adds, gradient accumulation, scaling,
// fills and copies over flat f32 tensors. `n` defaults to the output's length.

import type { CommandBatch } from '../batch.ts';
import type { Tensor } from '../tensor.ts';
import { needCount, needDistinct, needTensor, spreadWorkgroups } from './workgroups.ts';

const WG = 256;

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
    uniforms: [n, { f32: alpha }],
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

/** y = alpha · x, or y *= alpha in place when x is y (or omitted). */
export function scale(batch: CommandBatch, y: Tensor, alpha: number, x: Tensor = y, n = y.length): void {
  needCount('scale', 'n', n);
  needTensor('scale', y, n, 'y');
  needTensor('scale', x, n, 'x');
  if (x.buffer === y.buffer) dispatch(batch, 'scale', n, alpha, [y], `scale ${n}`);
  else dispatch(batch, 'scale_copy', n, alpha, [x, y], `scale copy ${n}`);
}

/** y = value over the first n elements (batch.clear is cheaper for zeros). */
export function fill(batch: CommandBatch, y: Tensor, value: number, n = y.length): void {
  needCount('fill', 'n', n);
  needTensor('fill', y, n, 'y');
  if (value === 0 && n === y.length) {
    batch.clear(y, 0, n * 4);
    return;
  }
  dispatch(batch, 'fill', n, value, [y], `fill ${n}`);
}

/** dst = src over the first n elements (any dtype; a buffer copy, no kernel). */
export function copy(batch: CommandBatch, src: Tensor, dst: Tensor, n = dst.length): void {
  needCount('copy', 'n', n);
  needTensor('copy', src, n, 'src', src.dtype);
  needTensor('copy', dst, n, 'dst', src.dtype);
  needDistinct('copy', dst, src, 'src');
  batch.copy(src, dst, n * 4);
}
