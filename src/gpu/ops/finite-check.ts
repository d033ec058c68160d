// Wrapper for shaders/finite-check.wgsl: counts the NaN and ±∞ elements of f32 tensors into
// a one-element u32 counter on the GPU, so finiteness of all weights is one 4-byte read-back.

import type { CommandBatch } from '../batch.ts';
import type { Tensor } from '../tensor.ts';
import { needCount, needTensor, spreadWorkgroups } from './workgroups.ts';

const WG = 256;
const PER_INVOCATION = 16;

/**
 * Adds the number of non-finite elements among the first `n` of `x` to count[0]. Zero the
 * counter first; several calls may share it.
 */
export function countNonFinite(batch: CommandBatch, x: Tensor, count: Tensor, n = x.length): void {
  const op = 'countNonFinite';
  needCount(op, 'n', n);
  needTensor(op, x, n, 'x');
  needTensor(op, count, 1, 'count', 'u32');
  if (n === 0) return;
  batch.dispatch({
    shader: 'finite-check',
    label: `finite check ${n}`,
    uniforms: [n],
    buffers: [x, count],
    workgroups: spreadWorkgroups(Math.ceil(n / (WG * PER_INVOCATION))),
  });
}
