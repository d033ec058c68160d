// Wrapper for shaders/swiglu.wgsl: out = silu(a) ⊙ b and its gradients, over n elements
// (the MLP's [N, H] activations, flat).

import type { CommandBatch } from '../batch.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import { needCount, needDistinct, needTensor, spreadWorkgroups } from './workgroups.ts';

/** Invocations per workgroup (one element each). */
export const SWIGLU_WORKGROUP = 256;
const WG = SWIGLU_WORKGROUP;

export const SWIGLU_PARAMS = uniformLayout('swiglu', 'Params', { n: 'u32' });

export function swigluForward(batch: CommandBatch, a: Tensor, b: Tensor, out: Tensor, n = out.length): void {
  const op = 'swigluForward';
  needCount(op, 'n', n);
  needTensor(op, a, n, 'a');
  needTensor(op, b, n, 'b');
  needTensor(op, out, n, 'out');
  needDistinct(op, out, a, 'a');
  needDistinct(op, out, b, 'b');
  if (n === 0) return;
  batch.dispatch({
    shader: 'swiglu',
    entryPoint: 'forward',
    label: `swiglu forward ${n}`,
    uniforms: SWIGLU_PARAMS.pack({ n }),
    buffers: [a, b, out],
    workgroups: spreadWorkgroups(Math.ceil(n / WG)),
  });
}

/** da, db from a, b (the forward's inputs) and dout; da and db are overwritten. */
export function swigluBackward(
  batch: CommandBatch,
  a: Tensor,
  b: Tensor,
  dout: Tensor,
  da: Tensor,
  db: Tensor,
  n = dout.length,
): void {
  const op = 'swigluBackward';
  needCount(op, 'n', n);
  for (const [t, what] of [
    [a, 'a'],
    [b, 'b'],
    [dout, 'dout'],
    [da, 'da'],
    [db, 'db'],
  ] as const)
    needTensor(op, t, n, what);
  for (const [t, what] of [
    [a, 'a'],
    [b, 'b'],
    [dout, 'dout'],
  ] as const) {
    needDistinct(op, da, t, what);
    needDistinct(op, db, t, what);
  }
  needDistinct(op, da, db, 'db');
  if (n === 0) return;
  batch.dispatch({
    shader: 'swiglu',
    entryPoint: 'backward',
    label: `swiglu backward ${n}`,
    uniforms: SWIGLU_PARAMS.pack({ n }),
    buffers: [a, b, dout, da, db],
    workgroups: spreadWorkgroups(Math.ceil(n / WG)),
  });
}
