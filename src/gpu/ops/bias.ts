// Wrapper for shaders/bias.wgsl: a linear layer's bias, y[n, c] += b[c], and its gradient
// db[c] += Σ_n dy[n, c]. Both work in place (accumulate), as parameter gradients do.

import type { CommandBatch } from '../batch.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import { needCount, needDistinct, needTensor, spreadWorkgroups } from './workgroups.ts';

/** Invocations per workgroup (an element each forward, a channel each backward). */
export const BIAS_WORKGROUP = 64;
const WG = BIAS_WORKGROUP;

export const BIAS_PARAMS = uniformLayout('bias', 'Params', { N: 'u32', C: 'u32' });

export interface BiasShape {
  N: number;
  C: number;
}

function checkShape(op: string, { N, C }: BiasShape): void {
  needCount(op, 'N', N);
  needCount(op, 'C', C, 1);
}

/** y [N, C] += b [C] on every row. */
export function biasForward(batch: CommandBatch, b: Tensor, y: Tensor, shape: BiasShape): void {
  const op = 'biasForward';
  checkShape(op, shape);
  const { N, C } = shape;
  needTensor(op, b, C, 'b');
  needTensor(op, y, N * C, 'y');
  needDistinct(op, y, b, 'b');
  if (N === 0) return;
  batch.dispatch({
    shader: 'bias',
    entryPoint: 'forward',
    label: `bias forward N=${N} C=${C}`,
    uniforms: BIAS_PARAMS.pack({ N, C }),
    buffers: [b, y],
    workgroups: spreadWorkgroups(Math.ceil((N * C) / WG)),
  });
}

/** db [C] += Σ_n dy[n, c]. */
export function biasBackward(batch: CommandBatch, dy: Tensor, db: Tensor, shape: BiasShape): void {
  const op = 'biasBackward';
  checkShape(op, shape);
  const { N, C } = shape;
  needTensor(op, dy, N * C, 'dy');
  needTensor(op, db, C, 'db');
  needDistinct(op, db, dy, 'dy');
  if (N === 0) return;
  batch.dispatch({
    shader: 'bias',
    entryPoint: 'backward',
    label: `bias backward N=${N} C=${C}`,
    uniforms: BIAS_PARAMS.pack({ N, C }),
    buffers: [dy, db],
    workgroups: spreadWorkgroups(Math.ceil(C / WG)),
  });
}
