// Wrappers for the ROSA kernels: shaders/rosa-pack.wgsl (sign-pack), rosa-inject.wgsl (injection
// forward) and rosa-grad.wgsl (counterfactual backward). Layouts: src/rosa-worker/layout.ts and
// src/gpu/reference/rosa.ts (the CPU twins). Each function validates shapes and records
// dispatches into a batch; the caller owns every tensor, scratch included.

import { paddedLength, type ScanOutputs, scanSizes } from '../../rosa-worker/layout.ts';
import type { CommandBatch, DispatchSpec } from '../batch.ts';
import type { GpuContext } from '../context.ts';
import { GpuError } from '../errors.ts';
import { checkRosaDims, type RosaDims, type RosaGradOptions } from '../reference/rosa.ts';
import { createTensor, type DType, destroyTensors, type Tensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import { MAX_WORKGROUPS_PER_DIM, needDistinct, needTensor, spreadWorkgroups } from './workgroups.ts';

/** Invocations per workgroup of the element- and lane-wise ROSA kernels (pack, inject, grad). */
export const ROSA_WORKGROUP = 256;
const WORKGROUP = ROSA_WORKGROUP;
/** Rows (b, t) per workgroup in the first stage of the e0/e1 reduction, and row lanes in it. */
const E_ROWS_PER_GROUP = 256;
export const ROSA_E_ROW_LANES = 4;
/** Channels per workgroup of the e0/e1 partial sums (workgroup x = channels, y = row lanes). */
export const ROSA_E_CHANNELS = 64;
/** Invocations per workgroup of the e0/e1 final sums (one per output: 2·C). */
export const ROSA_E_FINAL_WORKGROUP = 64;

export const ROSA_PACK_PARAMS = uniformLayout('rosa-pack', 'Params', {
  B: 'u32',
  T: 'u32',
  C: 'u32',
  bits: 'u32',
  routes: 'u32',
  words: 'u32',
  total: 'u32',
});

export const ROSA_INJECT_PARAMS = uniformLayout('rosa-inject', 'Params', {
  B: 'u32',
  T: 'u32',
  C: 'u32',
  bits: 'u32',
  routes: 'u32',
  total: 'u32',
});

/** Every entry point's uniform struct in rosa-grad.wgsl. */
export const ROSA_GRAD_PARAMS = uniformLayout('rosa-grad', 'Params', {
  B: 'u32',
  T: 'u32',
  C: 'u32',
  bits: 'u32',
  routes: 'u32',
  total: 'u32',
  laneSteps: 'u32',
  tempQ: 'f32',
  tempK: 'f32',
  tempV: 'f32',
  rowsPerGroup: 'u32',
  partials: 'u32',
});

/** Workgroups for `n` invocations of 256, spread over (x, y) past the per-dimension limit. */
function grid1d(n: number): [number, number] {
  return spreadWorkgroups(Math.ceil(n / WORKGROUP));
}

function check(dims: RosaDims, where: string): number {
  try {
    checkRosaDims(dims, where);
  } catch (err) {
    throw new GpuError('invalid-shape', (err as Error).message);
  }
  return dims.C / dims.bits;
}

function need(t: Tensor, elements: number, dtype: DType, what: string, where: string): void {
  needTensor(where, t, elements, what, dtype);
}

/** Outputs must not share a buffer with anything else the same dispatches bind. */
function distinct(where: string, outputs: Record<string, Tensor>, inputs: Record<string, Tensor>): void {
  for (const [name, out] of Object.entries(outputs)) {
    for (const [other, t] of Object.entries({ ...inputs, ...outputs })) {
      if (other !== name) needDistinct(where, out, t, other);
    }
  }
}

/** u32 words of a packed symbol buffer: lanes · Tpad / 4 (bytes [lane][Tpad] when read as Uint8). */
export function signPackWords({ B, T, C, bits }: RosaDims): number {
  return (B * (C / bits) * paddedLength(T)) / 4;
}

/** Sign-pack x [B, T, C] into symbols [lane][Tpad] (u32 words, 4 time steps each, little-endian). */
export function rosaSignPack(batch: CommandBatch, x: Tensor, symbols: Tensor, dims: RosaDims): void {
  const where = 'rosaSignPack';
  const R = check(dims, where);
  const { B, T, C, bits } = dims;
  need(x, B * T * C, 'f32', 'x', where);
  const words = paddedLength(T) / 4;
  const total = B * words * R;
  need(symbols, total, 'u32', 'symbols', where);
  distinct(where, { symbols }, { x });
  batch.dispatch({
    shader: 'rosa-pack',
    label: `rosa sign-pack B${B} T${T} C${C} bits${bits}`,
    uniforms: ROSA_PACK_PARAMS.pack({ B, T, C, bits, routes: R, words, total }),
    buffers: [x, symbols],
    workgroups: grid1d(total),
  });
}

export interface RosaInjectionForwardTensors {
  v: Tensor;
  e0: Tensor;
  e1: Tensor;
  /** i32 [lane][T] from the scan. */
  dest: Tensor;
  /** Output y [B, T, C]. */
  y: Tensor;
}

/** y = 1[dest ≥ 0] · (v[dest] > 0 ? e1 : e0) per channel; W_out is a separate matmul. */
export function rosaInjectionForward(
  batch: CommandBatch,
  { v, e0, e1, dest, y }: RosaInjectionForwardTensors,
  dims: RosaDims,
): void {
  const where = 'rosaInjectionForward';
  const R = check(dims, where);
  const { B, T, C, bits } = dims;
  const total = B * T * C;
  need(v, total, 'f32', 'v', where);
  need(e0, C, 'f32', 'e0', where);
  need(e1, C, 'f32', 'e1', where);
  need(dest, B * R * T, 'i32', 'dest', where);
  need(y, total, 'f32', 'y', where);
  distinct(where, { y }, { v, e0, e1, dest });
  batch.dispatch({
    shader: 'rosa-inject',
    label: `rosa injection B${B} T${T} C${C} bits${bits}`,
    uniforms: ROSA_INJECT_PARAMS.pack({ B, T, C, bits, routes: R, total }),
    buffers: [v, e0, e1, dest, y],
    workgroups: grid1d(total),
  });
}

/** The scan outputs on the GPU, i32, laid out as in layout.ts. */
export type RosaScanTensors = { [K in keyof ScanOutputs]: Tensor<'i32'> };

const SCAN_FIELDS = [
  'dest',
  'qRunId',
  'rcf',
  'kRunStart',
  'destInvOffsets',
  'destInvPositions',
  'cfInvOffsets',
  'cfInvPositions',
] as const satisfies ReadonlyArray<keyof ScanOutputs>;

/** Allocates the scan-output tensors for `dims` (uploading `data` when given). */
export function createScanTensors(ctx: GpuContext, dims: RosaDims, data?: ScanOutputs): RosaScanTensors {
  const R = check(dims, 'createScanTensors');
  const sizes = scanSizes({ lanes: dims.B * R, T: dims.T, bits: dims.bits });
  const out = {} as RosaScanTensors;
  for (const f of SCAN_FIELDS) out[f] = createTensor(ctx, [sizes[f]], 'i32', `rosa ${f}`, data?.[f]);
  return out;
}

export function destroyScanTensors(scan: RosaScanTensors): void {
  destroyTensors(...SCAN_FIELDS.map((f) => scan[f]));
}

/** Scratch of the backward: θ and the Q-contrast V field [B, T, C], e0/e1 partial sums [partials][2][C]. */
export interface RosaBackwardScratch {
  theta: Tensor<'f32'>;
  fieldQ: Tensor<'f32'>;
  partials: Tensor<'f32'>;
}

/** Row groups (workgroups along y) of the e0/e1 reduction and the partial sums per channel. */
function eReduction({ B, T }: RosaDims): { rowsPerGroup: number; groups: number; partials: number } {
  const rows = B * T;
  const rowsPerGroup = Math.max(E_ROWS_PER_GROUP, Math.ceil(rows / MAX_WORKGROUPS_PER_DIM));
  const groups = Math.ceil(rows / rowsPerGroup);
  return { rowsPerGroup, groups, partials: groups * ROSA_E_ROW_LANES };
}

export function createRosaBackwardScratch(ctx: GpuContext, dims: RosaDims): RosaBackwardScratch {
  check(dims, 'createRosaBackwardScratch');
  const { partials } = eReduction(dims);
  return {
    theta: createTensor(ctx, [dims.B * dims.T * dims.C], 'f32', 'rosa theta'),
    fieldQ: createTensor(ctx, [dims.B * dims.T * dims.C], 'f32', 'rosa V field'),
    partials: createTensor(ctx, [partials * 2 * dims.C], 'f32', 'rosa e partials'),
  };
}

export function destroyRosaBackwardScratch(s: RosaBackwardScratch): void {
  destroyTensors(s.theta, s.fieldQ, s.partials);
}

export interface RosaInjectionBackwardTensors {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  e0: Tensor;
  e1: Tensor;
  gradY: Tensor;
  scan: RosaScanTensors;
  scratch: RosaBackwardScratch;
  /** Outputs (overwritten): [B, T, C] and [C]. */
  gradQ: Tensor;
  gradK: Tensor;
  gradV: Tensor;
  gradE0: Tensor;
  gradE1: Tensor;
}

/**
 * Records the counterfactual backward (§4): a clear of gradK (0 off K-run starts) and the six
 * dispatches of rosaInjectionBackwardStages. Every output element is written.
 */
export function rosaInjectionBackward(
  batch: CommandBatch,
  t: RosaInjectionBackwardTensors,
  dims: RosaDims,
  options: RosaGradOptions = {},
): void {
  const stages = rosaInjectionBackwardStages(t, dims, options);
  // Cleared first, so that the dispatches after it share one compute pass.
  batch.clear(t.gradK, 0, dims.B * dims.T * dims.C * 4);
  for (const stage of stages) batch.dispatch(stage);
}

/**
 * The backward's dispatches, validated, in order: θ and V field, V, Q, K, e partials, e final
 * (grad_k adds into a gradK that must be zero). Exposed so benchmarks can time each stage.
 */
export function rosaInjectionBackwardStages(
  t: RosaInjectionBackwardTensors,
  dims: RosaDims,
  options: RosaGradOptions = {},
): DispatchSpec[] {
  const where = 'rosaInjectionBackward';
  const R = check(dims, where);
  const { B, T, C, bits } = dims;
  const total = B * T * C;
  for (const name of ['q', 'k', 'v', 'gradY', 'gradQ', 'gradK', 'gradV'] as const)
    need(t[name], total, 'f32', name, where);
  for (const name of ['e0', 'e1', 'gradE0', 'gradE1'] as const) need(t[name], C, 'f32', name, where);
  const sizes = scanSizes({ lanes: B * R, T, bits });
  for (const f of SCAN_FIELDS) need(t.scan[f], sizes[f], 'i32', `scan.${f}`, where);
  const reduction = eReduction(dims);
  need(t.scratch.theta, total, 'f32', 'scratch.theta', where);
  need(t.scratch.fieldQ, total, 'f32', 'scratch.fieldQ', where);
  need(t.scratch.partials, reduction.partials * 2 * C, 'f32', 'scratch.partials', where);
  const { gradQ, gradK, gradV, gradE0, gradE1 } = t;
  distinct(
    where,
    { gradQ, gradK, gradV, gradE0, gradE1, ...t.scratch },
    { q: t.q, k: t.k, v: t.v, e0: t.e0, e1: t.e1, gradY: t.gradY, ...t.scan },
  );
  const temps = [options.tempQ ?? 1, options.tempK ?? 1, options.tempV ?? 1];
  for (const [i, name] of ['tempQ', 'tempK', 'tempV'].entries()) {
    if (!Number.isFinite(temps[i])) throw new GpuError('validation', `${where}: ${name} must be finite`);
  }
  const uniforms = ROSA_GRAD_PARAMS.pack({
    B,
    T,
    C,
    bits,
    routes: R,
    total,
    laneSteps: B * R * T,
    tempQ: temps[0],
    tempK: temps[1],
    tempV: temps[2],
    rowsPerGroup: reduction.rowsPerGroup,
    partials: reduction.partials,
  });
  const constants = { HARD_V_Q: options.hardVForQ ?? false, HARD_V_K: options.hardVForK ?? false };
  const shape = `B${B} T${T} C${C} bits${bits}`;
  const { theta, fieldQ, partials } = t.scratch;
  const { scan } = t;
  const perElement = grid1d(total);
  const perLaneStep = grid1d(B * R * T);
  const step = (
    entryPoint: string,
    buffers: Tensor[],
    workgroups: readonly [number, number?],
  ): DispatchSpec => ({
    shader: 'rosa-grad',
    entryPoint,
    label: `rosa ${entryPoint} ${shape}`,
    constants,
    uniforms,
    buffers,
    workgroups,
  });
  return [
    step('theta', [t.gradY, t.e0, t.e1, t.v, theta, fieldQ], perElement),
    step('grad_v', [t.v, theta, scan.destInvOffsets, scan.destInvPositions, t.gradV], perLaneStep),
    step('grad_q', [t.q, fieldQ, theta, scan.qRunId, scan.rcf, scan.kRunStart, t.gradQ], perLaneStep),
    step(
      'grad_k',
      [t.k, t.v, theta, scan.kRunStart, scan.cfInvOffsets, scan.cfInvPositions, t.gradK],
      perLaneStep,
    ),
    step(
      'grad_e_partial',
      [t.gradY, t.v, scan.dest, partials],
      [Math.ceil(C / ROSA_E_CHANNELS), reduction.groups],
    ),
    step('grad_e_final', [partials, t.gradE0, t.gradE1], [Math.ceil((2 * C) / ROSA_E_FINAL_WORKGROUP)]),
  ];
}
