// Wrapper for shaders/attention.wgsl: causal windowed (or global) multi-head attention,
// forward and backward. Shapes, layouts and formulas: src/gpu/reference/attention.ts.

import type { CommandBatch } from '../batch.ts';
import { GpuError } from '../errors.ts';
import { type AttentionShape, attentionScale } from '../reference/attention.ts';
import type { Tensor } from '../tensor.ts';
import { type UniformBlock, uniformLayout } from './uniforms.ts';

export type { AttentionShape } from '../reference/attention.ts';

/** Query (or key) rows per workgroup: one invocation per row. */
export const ATTENTION_ROWS = 64;
/** Largest head dimension: the kernels keep a row's vectors in private arrays of this size. */
export const ATTENTION_MAX_HEAD_DIM = 128;
/** Largest tile (rows of K/V or Q/dO held in workgroup memory at once). */
export const ATTENTION_MAX_TILE = 64;
/**
 * Workgroup memory the tiles may use. Fixed at WebGPU's default limit (16 KiB) rather than
 * the adapter's, so that every device, and the kernel tests, run the same pipelines.
 */
export const ATTENTION_WORKGROUP_BYTES = 16384;

/** Every entry point's uniform struct. */
export const ATTENTION_PARAMS = uniformLayout('attention', 'Params', {
  T: 'u32',
  H: 'u32',
  window: 'u32',
  scale: 'f32',
});

/** Rows per tile for head dimension D: two [tile × D] tiles plus two [tile] vectors must fit. */
export function attentionTile(D: number): number {
  return Math.min(ATTENTION_MAX_TILE, Math.floor(ATTENTION_WORKGROUP_BYTES / 4 / (2 * D + 2)));
}

export interface AttentionOptions {
  /** Rows per workgroup-memory tile (tests use small ones to exercise tile edges); default attentionTile(D). */
  tile?: number;
}

export interface AttentionForwardTensors {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** Written: [B, T, C]. */
  out: Tensor;
  /** Written: per-row log-sum-exp of the scaled scores, [B, H, T]; the backward needs it. */
  lse: Tensor;
}

export interface AttentionBackwardTensors {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** The forward's output and log-sum-exp. */
  out: Tensor;
  lse: Tensor;
  /** Gradient of the loss with respect to out, [B, T, C]. */
  dout: Tensor;
  /** Scratch [B, H, T]: rowsum(dout ⊙ out), written then read. */
  delta: Tensor;
  /** Written: [B, T, C] each (overwritten, not accumulated). */
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

interface Plan {
  uniforms: UniformBlock;
  constants: { HEAD_DIM: number; TILE: number };
  workgroups: [number, number, number];
  label: string;
}

/** Whether two tensors' byte ranges in one buffer intersect (a whole buffer covers all of it). */
function overlaps(a: Tensor, b: Tensor): boolean {
  if (a.byteOffset === undefined || b.byteOffset === undefined) return true;
  return a.byteOffset < b.byteOffset + b.length * 4 && b.byteOffset < a.byteOffset + a.length * 4;
}

function plan(
  what: string,
  tensors: Record<string, Tensor>,
  written: readonly string[],
  shape: AttentionShape,
  options: AttentionOptions,
): Plan | null {
  const { B, T, H, D, window } = shape;
  for (const [name, value] of Object.entries({ B, T, H, D })) {
    if (!Number.isInteger(value) || value < 0) {
      throw new GpuError('invalid-shape', `${what}: ${name} = ${value} is not a whole number ≥ 0`);
    }
  }
  if (D > ATTENTION_MAX_HEAD_DIM) {
    throw new GpuError(
      'invalid-shape',
      `${what}: head dimension D = ${D} exceeds the kernel's limit of ${ATTENTION_MAX_HEAD_DIM}; use more heads`,
    );
  }
  if (!(window >= 1) || (!Number.isInteger(window) && window !== Number.POSITIVE_INFINITY)) {
    throw new GpuError(
      'invalid-shape',
      `${what}: window = ${window} must be a whole number ≥ 1 (or Infinity for global attention)`,
    );
  }
  const scale = attentionScale(shape);
  if (!Number.isFinite(scale)) throw new GpuError('invalid-shape', `${what}: scale = ${scale} is not finite`);
  const tile = options.tile ?? attentionTile(Math.max(D, 1));
  const maxTile = attentionTile(Math.max(D, 1));
  if (!Number.isInteger(tile) || tile < 1 || tile > maxTile) {
    throw new GpuError(
      'invalid-shape',
      `${what}: tile = ${tile} must be a whole number in 1..${maxTile} for D = ${D} (16 KiB of workgroup memory)`,
    );
  }
  const rows = B * T * H * D;
  const stats = B * H * T;
  for (const [name, t] of Object.entries(tensors)) {
    const need = name === 'lse' || name === 'delta' ? stats : rows;
    if (t.length < need) {
      throw new GpuError(
        'invalid-shape',
        `${what}: ${name} "${t.label}" has ${t.length} elements, needs ${need} for B=${B} T=${T} H=${H} D=${D}`,
      );
    }
  }
  // WebGPU rejects a buffer bound both writable and readable in one dispatch; say which. Two
  // written tensors may share a buffer (dq, dk, dv as one strided group) if they do not overlap.
  for (const w of written) {
    for (const [name, t] of Object.entries(tensors)) {
      if (name === w || t.buffer !== tensors[w].buffer) continue;
      if (!written.includes(name) || overlaps(t, tensors[w])) {
        throw new GpuError('invalid-shape', `${what}: ${w} and ${name} must be different buffers`);
      }
    }
  }
  if (B === 0 || T === 0 || H === 0 || D === 0) return null;
  return {
    uniforms: ATTENTION_PARAMS.pack({ T, H, window: Math.min(window, T), scale }),
    constants: { HEAD_DIM: D, TILE: tile },
    workgroups: [Math.ceil(T / ATTENTION_ROWS), H, B],
    label: `B=${B} T=${T} H=${H} D=${D} W=${Math.min(window, T)}`,
  };
}

/** Records the forward pass: out and lse from q, k, v. */
export function attentionForward(
  batch: CommandBatch,
  tensors: AttentionForwardTensors,
  shape: AttentionShape,
  options: AttentionOptions = {},
): void {
  const { q, k, v, out, lse } = tensors;
  const p = plan('attentionForward', { q, k, v, out, lse }, ['out', 'lse'], shape, options);
  if (!p) return;
  batch.dispatch({
    shader: 'attention',
    entryPoint: 'attention_forward',
    label: `attention forward ${p.label}`,
    constants: p.constants,
    uniforms: p.uniforms,
    buffers: [q, k, v, out, lse],
    workgroups: p.workgroups,
  });
}

/** Records the backward pass: dq and delta (over key tiles), then dk and dv (over query tiles). */
export function attentionBackward(
  batch: CommandBatch,
  tensors: AttentionBackwardTensors,
  shape: AttentionShape,
  options: AttentionOptions = {},
): void {
  const { q, k, v, out, lse, dout, delta, dq, dk, dv } = tensors;
  const p = plan(
    'attentionBackward',
    { q, k, v, out, lse, dout, delta, dq, dk, dv },
    ['delta', 'dq', 'dk', 'dv'],
    shape,
    options,
  );
  if (!p) return;
  const common = {
    shader: 'attention',
    constants: p.constants,
    uniforms: p.uniforms,
    workgroups: p.workgroups,
  };
  batch.dispatch({
    ...common,
    entryPoint: 'attention_backward_query',
    label: `attention dq delta ${p.label}`,
    buffers: [q, k, v, dout, lse, delta, dq, out],
  });
  batch.dispatch({
    ...common,
    entryPoint: 'attention_backward_key',
    label: `attention dk dv ${p.label}`,
    buffers: [q, k, v, dout, lse, delta, dk, dv],
  });
}
