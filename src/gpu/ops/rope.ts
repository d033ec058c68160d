// Wrapper for shaders/rope.wgsl: rotary position embedding on [B, T, C] (C = H·D), Qwen3
// rotate-half pairing, forward and backward (inverse rotation), in place or out of place.
// Formulas and layout: src/gpu/reference/rope.ts.

import type { CommandBatch } from '../batch.ts';
import type { GpuContext } from '../context.ts';
import { GpuError } from '../errors.ts';
import { checkRopeShape, DEFAULT_ROPE_BASE, type RopeShape, ropeTable } from '../reference/rope.ts';
import { createTensor, type Tensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import { MAX_WORKGROUPS_PER_DIM } from './workgroups.ts';

export type { RopeShape } from '../reference/rope.ts';

/** Invocations per workgroup (one channel pair each). */
export const ROPE_WORKGROUP = 256;
const WORKGROUP = ROPE_WORKGROUP;

export const ROPE_PARAMS = uniformLayout('rope', 'Params', {
  pairs: 'u32',
  T: 'u32',
  H: 'u32',
  half: 'u32',
  offset: 'u32',
  rowStride: 'u32',
  segments: 'u32',
  rotated: 'u32',
  strideIn: 'u32',
  strideOut: 'u32',
});
/** Workgroups per row of the dispatch grid; larger tensors use more rows (the grid's y). */
export const ROPE_GRID_WIDTH = 32768;

export interface RopeOptions {
  /** Workgroups per grid row, default ROPE_GRID_WIDTH; tests use small values to exercise the 2-D grid. */
  gridWidth?: number;
}

/** The cos/sin table on the GPU, with what it was built for. */
export interface RopeTable {
  /** [positions, D/2, 2] (cos, sin) pairs, float32. */
  tensor: Tensor<'f32'>;
  /** Positions covered: offset + T must not exceed it. */
  positions: number;
  D: number;
  base: number;
}

/** Uploads the table for positions 0 .. positions − 1 (build it once per model and length). */
export function createRopeTable(
  ctx: GpuContext,
  positions: number,
  D: number,
  base = DEFAULT_ROPE_BASE,
): RopeTable {
  const data = ropeTable(positions, D, base);
  return {
    tensor: createTensor(ctx, [positions, D / 2, 2], 'f32', `rope table D=${D} θ=${base}`, data),
    positions,
    D,
    base,
  };
}

export interface RopeForwardTensors {
  x: Tensor;
  /** Written; may be x itself (in place). */
  out: Tensor;
  table: RopeTable;
}

export interface RopeBackwardTensors {
  /** Gradient with respect to the rotated output. */
  dy: Tensor;
  /** Written; may be dy itself (in place). */
  dx: Tensor;
  table: RopeTable;
}

/**
 * Several [B, T, C] tensors one after another in x and in out (q, k, v of a layer): the first
 * `rotated` are rotated, the rest copied; strides are in elements.
 */
export interface RopeSegments {
  count: number;
  rotated: number;
  strideIn: number;
  strideOut: number;
}

function record(
  batch: CommandBatch,
  what: string,
  input: Tensor,
  output: Tensor,
  table: RopeTable,
  shape: RopeShape,
  inverse: boolean,
  options: RopeOptions,
  segments?: RopeSegments,
): void {
  try {
    checkRopeShape(shape);
  } catch (err) {
    throw new GpuError('invalid-shape', `${what}: ${(err as Error).message.replace(/^rope: /, '')}`);
  }
  const { B, T, H, D, offset = 0 } = shape;
  if (shape.base !== undefined && shape.base !== table.base) {
    throw new GpuError(
      'invalid-shape',
      `${what}: base ${shape.base} differs from the table's (${table.base})`,
    );
  }
  if (D !== table.D) {
    throw new GpuError(
      'invalid-shape',
      `${what}: head dimension D = ${D} differs from the table's (${table.D})`,
    );
  }
  if (offset + T > table.positions) {
    throw new GpuError(
      'invalid-shape',
      `${what}: positions up to ${offset + T - 1} (offset ${offset} + T ${T}) need a table of ≥ ${offset + T} positions; it has ${table.positions}`,
    );
  }
  const n = B * T * H * D;
  const seg = segments ?? { count: 1, rotated: 1, strideIn: n, strideOut: n };
  const inPlace = input.buffer === output.buffer;
  for (const [name, v] of Object.entries(seg)) {
    if (!Number.isInteger(v) || v < 0) {
      throw new GpuError('invalid-shape', `${what}: segments.${name} = ${v} is not a whole number ≥ 0`);
    }
  }
  if (seg.count > 1 && (seg.strideIn < n || seg.strideOut < n)) {
    throw new GpuError(
      'invalid-shape',
      `${what}: segment strides ${seg.strideIn}/${seg.strideOut} are below one tensor's ${n} elements`,
    );
  }
  if (inPlace && (input.byteOffset ?? 0) !== (output.byteOffset ?? 0)) {
    // One buffer is bound once, writable: the output can only be the input itself.
    throw new GpuError(
      'invalid-shape',
      `${what}: "${output.label}" shares a buffer with "${input.label}" at another offset`,
    );
  }
  if (inPlace && seg.strideIn !== seg.strideOut) {
    throw new GpuError('invalid-shape', `${what}: in place, the input and output strides must be equal`);
  }
  for (const [t, stride] of [
    [input, seg.strideIn],
    [output, seg.strideOut],
  ] as const) {
    const need = Math.max(0, seg.count - 1) * stride + n;
    if (t.length < need) {
      throw new GpuError(
        'invalid-shape',
        `${what}: "${t.label}" has ${t.length} elements, needs ${need} for ${seg.count} × B=${B} T=${T} H=${H} D=${D}`,
      );
    }
  }
  const pairs = n / 2;
  if (pairs === 0 || seg.count === 0) return;
  const groups = Math.ceil((pairs * seg.count) / WORKGROUP);
  const width = options.gridWidth ?? ROPE_GRID_WIDTH;
  if (!Number.isInteger(width) || width < 1 || width > MAX_WORKGROUPS_PER_DIM) {
    throw new GpuError(
      'invalid-shape',
      `${what}: gridWidth = ${width} must be a whole number in 1..${MAX_WORKGROUPS_PER_DIM}`,
    );
  }
  const x = Math.min(groups, width);
  const y = Math.ceil(groups / x);
  const segmentsLabel = seg.count > 1 ? ` ×${seg.count} (${seg.rotated} rotated)` : '';
  batch.dispatch({
    shader: 'rope',
    entryPoint: inPlace ? 'rope_in_place' : 'rope',
    label: `${what} B=${B} T=${T} H=${H} D=${D}${segmentsLabel}${inPlace ? ' in place' : ''}`,
    constants: { INVERSE: inverse },
    uniforms: ROPE_PARAMS.pack({
      pairs,
      T,
      H,
      half: D / 2,
      offset,
      rowStride: x * WORKGROUP,
      segments: seg.count,
      rotated: seg.rotated,
      strideIn: seg.strideIn,
      strideOut: seg.strideOut,
    }),
    buffers: inPlace ? [table.tensor, output] : [table.tensor, output, input],
    workgroups: [x, y],
  });
}

/** Records out = RoPE(x) at positions offset .. offset + T − 1 (per segment, when given). */
export function ropeForward(
  batch: CommandBatch,
  tensors: RopeForwardTensors,
  shape: RopeShape,
  options: RopeOptions = {},
  segments?: RopeSegments,
): void {
  record(batch, 'ropeForward', tensors.x, tensors.out, tensors.table, shape, false, options, segments);
}

/** Records dx = RoPE⁻¹(dy), the backward pass of ropeForward. */
export function ropeBackward(
  batch: CommandBatch,
  tensors: RopeBackwardTensors,
  shape: RopeShape,
  options: RopeOptions = {},
  segments?: RopeSegments,
): void {
  record(batch, 'ropeBackward', tensors.dy, tensors.dx, tensors.table, shape, true, options, segments);
}
