// Wrapper for shaders/rmsnorm.wgsl: RMSNorm forward (saving rstd) and backward (dx and dw in
// one dispatch).
// Layouts: x, y, dy, dx [N, C] row-major; w, dw [C]; rstd [N].

import type { CommandBatch } from '../batch.ts';
import { RMSNORM_EPS } from '../reference/rmsnorm.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import {
  needCount,
  needDistinct,
  needTensor,
  type RowStrategy,
  rowWorkgroups,
  spreadWorkgroups,
} from './workgroups.ts';

export { RMSNORM_EPS } from '../reference/rmsnorm.ts';

/** Invocations per workgroup (a row's reduction, or 64 rows, or 64 columns of dw). */
export const RMSNORM_WORKGROUP = 64;
const WG = RMSNORM_WORKGROUP;

export const RMSNORM_PARAMS = uniformLayout('rmsnorm', 'Params', {
  N: 'u32',
  C: 'u32',
  eps: 'f32',
  dxGroups: 'u32',
});

/**
 * The module and entry point for a pass: the subgroup variant (shaders/rmsnorm-subgroups.wgsl)
 * only where a workgroup reduces a row and the caller says the device has subgroups; one
 * invocation per row has no reduction to speed up.
 */
export function rmsnormKernel(
  pass: 'forward' | 'backward',
  rows: RowStrategy,
  subgroups: boolean,
): { shader: 'rmsnorm' | 'rmsnorm-subgroups'; entryPoint: string } {
  if (rows === 'invocation') return { shader: 'rmsnorm', entryPoint: `${pass}_serial` };
  if (subgroups) return { shader: 'rmsnorm-subgroups', entryPoint: `${pass}_subgroups` };
  return { shader: 'rmsnorm', entryPoint: pass };
}

/** Refuses the subgroup variant on a device without the feature (it would not compile). */
function checkSubgroups(op: string, batch: CommandBatch, subgroups: boolean): void {
  if (subgroups && !batch.ctx.hasFeature('subgroups')) {
    throw new RangeError(`${op}: subgroups = true, but this device lacks the "subgroups" feature`);
  }
}

export interface RmsnormShape {
  N: number;
  C: number;
}

function checkShape(op: string, { N, C }: RmsnormShape): void {
  needCount(op, 'N', N);
  needCount(op, 'C', C, 1);
}

/**
 * y = rmsnorm(x) ⊙ w, and rstd [N] for the backward. `rows` picks the kernel layout
 * (preferredRowStrategy(ctx.adapter, C) is a good default), `subgroups` the subgroup reduction
 * (the device must have the feature); results agree to rounding.
 */
export function rmsnormForward(
  batch: CommandBatch,
  x: Tensor,
  w: Tensor,
  y: Tensor,
  rstd: Tensor,
  shape: RmsnormShape,
  {
    eps = RMSNORM_EPS,
    rows = 'workgroup',
    subgroups = false,
  }: { eps?: number; rows?: RowStrategy; subgroups?: boolean } = {},
): void {
  const op = 'rmsnormForward';
  checkShape(op, shape);
  checkSubgroups(op, batch, subgroups);
  const { N, C } = shape;
  needTensor(op, x, N * C, 'x');
  needTensor(op, w, C, 'w');
  needTensor(op, y, N * C, 'y');
  needTensor(op, rstd, N, 'rstd');
  needDistinct(op, y, x, 'x');
  if (!(eps > 0)) throw new RangeError(`${op}: eps = ${eps} must be > 0`);
  if (N === 0) return;
  batch.dispatch({
    ...rmsnormKernel('forward', rows, subgroups),
    label: `rmsnorm forward N=${N} C=${C}`,
    uniforms: RMSNORM_PARAMS.pack({ N, C, eps, dxGroups: 0 }),
    buffers: [x, w, y, rstd],
    workgroups: rowWorkgroups(N, rows, WG),
  });
}

export interface RmsnormGradients {
  /** [N, C]; written, or added into when accumulateDx. */
  dx: Tensor;
  /** [C]; written, or added into when accumulateDw. */
  dw: Tensor;
}

/** dx and dw of rmsnormForward from the forward's x and rstd. */
export function rmsnormBackward(
  batch: CommandBatch,
  x: Tensor,
  w: Tensor,
  rstd: Tensor,
  dy: Tensor,
  grads: RmsnormGradients,
  shape: RmsnormShape,
  {
    accumulateDx = false,
    accumulateDw = false,
    rows = 'workgroup',
    subgroups = false,
  }: { accumulateDx?: boolean; accumulateDw?: boolean; rows?: RowStrategy; subgroups?: boolean } = {},
): void {
  const op = 'rmsnormBackward';
  checkShape(op, shape);
  checkSubgroups(op, batch, subgroups);
  const { N, C } = shape;
  const { dx, dw } = grads;
  needTensor(op, x, N * C, 'x');
  needTensor(op, w, C, 'w');
  needTensor(op, rstd, N, 'rstd');
  needTensor(op, dy, N * C, 'dy');
  needTensor(op, dx, N * C, 'dx');
  needTensor(op, dw, C, 'dw');
  for (const [t, what] of [
    [x, 'x'],
    [w, 'w'],
    [rstd, 'rstd'],
    [dy, 'dy'],
  ] as const) {
    needDistinct(op, dx, t, what);
    needDistinct(op, dw, t, what);
  }
  needDistinct(op, dw, dx, 'dx');
  if (N === 0 && accumulateDw) return; // nothing to add (N = 0 still writes dw = 0)
  // The dx workgroups first (none when N = 0), then one workgroup per WG columns of dw.
  const dxGroups = rows === 'workgroup' ? N : Math.ceil(N / WG);
  const all = spreadWorkgroups(dxGroups + Math.ceil(C / WG));
  batch.dispatch({
    ...rmsnormKernel('backward', rows, subgroups),
    label: `rmsnorm backward N=${N} C=${C}`,
    constants: { ACCUMULATE: accumulateDx, ACCUMULATE_DW: accumulateDw },
    uniforms: RMSNORM_PARAMS.pack({ N, C, eps: 0, dxGroups }),
    buffers: [x, w, rstd, dy, dx, dw],
    workgroups: all,
  });
}
