// Wrappers for shaders/lrsa-select.wgsl (LagKV chunk selection) and shaders/lrsa-attention.wgsl
// (LRSA attention forward and backward). Layouts and the visible-set rule are documented in
// src/gpu/reference/lrsa.ts, whose functions are the CPU twins of these kernels.

import type { CommandBatch } from '../batch.ts';
import { GpuError } from '../errors.ts';
import {
  LAGKV_DEFAULT_EPSILON,
  type LagkvScoreOptions,
  type LrsaShape,
  lrsaChunkCounts,
  validateLrsaShape,
} from '../reference/lrsa.ts';
import type { DType, Tensor } from '../tensor.ts';
import { type UniformBlock, uniformLayout } from './uniforms.ts';
import { MAX_WORKGROUPS_PER_DIM } from './workgroups.ts';

/** Private per-invocation rows in the kernels are sized for this head width. */
export const LRSA_MAX_HEAD_DIM = 128;
/** The selection kernel keeps one chunk's scores in workgroup memory. */
export const LAGKV_MAX_CHUNK = 256;
/** Invocations per workgroup of the selection kernel. */
export const LAGKV_WORKGROUP = 64;
/** Attention tiles have at most this many rows (one invocation each). */
const MAX_GROUP = 64;
/** Staged rows per step: at most 32, and rows × head width ≤ 1024 floats per stage buffer. */
export const LRSA_MAX_KEY_TILE = 32;
export const LRSA_STAGE_FLOATS = 1024;
/** Invocations per workgroup of backward_prep (one row each). */
export const LRSA_PREP_WORKGROUP = 64;

export const LAGKV_SELECT_PARAMS = uniformLayout('lrsa-select', 'Params', {
  T: 'u32',
  H: 'u32',
  S: 'u32',
  L: 'u32',
  keep: 'u32',
  P: 'u32',
  scoreVRatio: 'f32',
  epsilon: 'f32',
});

/** Every entry point's uniform struct in lrsa-attention.wgsl. */
export const LRSA_ATTENTION_PARAMS = uniformLayout('lrsa-attention', 'Params', {
  T: 'u32',
  H: 'u32',
  S: 'u32',
  L: 'u32',
  keep: 'u32',
  P: 'u32',
  tiles0: 'u32',
  tilesPerChunk: 'u32',
  scale: 'f32',
  B: 'u32',
});

/** Element counts of every tensor the LRSA ops read or write. */
export function lrsaTensorSizes(shape: LrsaShape) {
  const { batch: B, seqLen: T, heads: H, headDim: D, chunk: L, keep } = shape;
  const { scoredChunks: P } = lrsaChunkCounts(shape);
  return {
    /** q, k, v, out, dout, dq, dk, dv: [B, T, H·D]. */
    activations: B * T * H * D,
    /** Int32 [B, H, P, keep]. */
    selected: B * H * P * keep,
    /** [B, H, P, L]. */
    scores: B * H * P * L,
    /** [B, H, T]. */
    lse: B * H * T,
    /** [B, H, T, 2]: (lse, Δ) per row, scratch for the backward. */
    rowStats: B * H * T * 2,
  };
}

/** How the attention kernels cut the sequence into workgroups. */
export interface LrsaTiling {
  /** Rows (queries or keys) per workgroup: min(L, 64). */
  group: number;
  /** Rows staged in workgroup memory per step. */
  keyTile: number;
  /** Tiles over the first window [0, min(T, S + 2L)). */
  tiles0: number;
  /** Tiles over each chunk j ≥ 2. */
  tilesPerChunk: number;
  /** All tiles: workgroups along x for forward, dq and the near dk/dv pass. */
  tiles: number;
  /** Workgroups along x for the far dk/dv pass (sinks and selected keys, GROUP per tile). */
  farTiles: number;
}

export function lrsaTiling(shape: LrsaShape): LrsaTiling {
  const { seqLen: T, headDim: D, sink: S, chunk: L, keep } = shape;
  const { scoredChunks: P, firstWindowEnd } = lrsaChunkCounts(shape);
  const group = Math.min(L, MAX_GROUP);
  const keyTile = Math.max(1, Math.min(LRSA_MAX_KEY_TILE, Math.floor(LRSA_STAGE_FLOATS / D)));
  const tiles0 = Math.ceil(firstWindowEnd / group);
  const tilesPerChunk = Math.ceil(L / group);
  const laterChunks = T > S + 2 * L ? Math.ceil((T - S - 2 * L) / L) : 0;
  const far = T > S + 2 * L ? S + P * keep : 0;
  return {
    group,
    keyTile,
    tiles0,
    tilesPerChunk,
    tiles: tiles0 + laterChunks * tilesPerChunk,
    farTiles: Math.ceil(far / group),
  };
}

function need(t: Tensor, elements: number, dtype: DType, name: string, op: string): void {
  if (t.dtype !== dtype)
    throw new GpuError('invalid-shape', `${op}: ${name} "${t.label}" is ${t.dtype}, needs ${dtype}`);
  if (t.length < elements) {
    throw new GpuError(
      'invalid-shape',
      `${op}: ${name} "${t.label}" has ${t.length} elements, needs ${elements}`,
    );
  }
}

function checkShape(shape: LrsaShape, op: string): void {
  try {
    validateLrsaShape(shape, op);
  } catch (err) {
    throw new GpuError('invalid-shape', (err as Error).message);
  }
  if (shape.headDim > LRSA_MAX_HEAD_DIM) {
    throw new GpuError(
      'invalid-shape',
      `${op}: headDim = ${shape.headDim} exceeds the kernels' limit of ${LRSA_MAX_HEAD_DIM}; use more heads`,
    );
  }
}

/**
 * Records LagKV selection: `selected` (i32, [B, H, P, keep], ascending positions) and
 * `scores` (f32, [B, H, P, L]) from the keys (with RoPE) and values. No gradient.
 */
export function lagkvSelect(
  batch: CommandBatch,
  k: Tensor,
  v: Tensor,
  selected: Tensor,
  scores: Tensor,
  shape: LrsaShape,
  options: LagkvScoreOptions = {},
): void {
  const op = 'lagkvSelect';
  checkShape(shape, op);
  if (shape.headDim < 2)
    throw new GpuError('invalid-shape', `${op}: headDim = ${shape.headDim} must be ≥ 2 (std over channels)`);
  if (shape.chunk > LAGKV_MAX_CHUNK) {
    throw new GpuError(
      'invalid-shape',
      `${op}: chunk = ${shape.chunk} exceeds the selection kernel's limit of ${LAGKV_MAX_CHUNK}`,
    );
  }
  const sizes = lrsaTensorSizes(shape);
  need(k, sizes.activations, 'f32', 'k', op);
  need(v, sizes.activations, 'f32', 'v', op);
  need(selected, sizes.selected, 'i32', 'selected', op);
  need(scores, sizes.scores, 'f32', 'scores', op);
  const { scoredChunks: P } = lrsaChunkCounts(shape);
  if (P === 0) return;
  const { seqLen: T, heads: H, sink: S, chunk: L, keep } = shape;
  batch.dispatch({
    shader: 'lrsa-select',
    entryPoint: 'select_chunks',
    label: `lagkvSelect T=${T} H=${H} L=${L} keep=${keep}`,
    constants: { HEAD_DIM: shape.headDim },
    uniforms: LAGKV_SELECT_PARAMS.pack({
      T,
      H,
      S,
      L,
      keep,
      P,
      scoreVRatio: options.scoreVRatio ?? 1,
      epsilon: options.epsilon ?? LAGKV_DEFAULT_EPSILON,
    }),
    buffers: [k, v, selected, scores],
    workgroups: [P, H, shape.batch],
  });
}

function attentionUniforms(shape: LrsaShape, tiling: LrsaTiling): UniformBlock {
  const { scoredChunks: P } = lrsaChunkCounts(shape);
  return LRSA_ATTENTION_PARAMS.pack({
    T: shape.seqLen,
    H: shape.heads,
    S: shape.sink,
    L: shape.chunk,
    keep: shape.keep,
    P,
    tiles0: tiling.tiles0,
    tilesPerChunk: tiling.tilesPerChunk,
    scale: 1 / Math.sqrt(shape.headDim),
    B: shape.batch,
  });
}

function attentionConstants(shape: LrsaShape, tiling: LrsaTiling) {
  return { HEAD_DIM: shape.headDim, GROUP: tiling.group, KEY_TILE: tiling.keyTile };
}

/** Records the LRSA forward: `out` [B, T, C] and `lse` [B, H, T]. */
export function lrsaAttentionForward(
  batch: CommandBatch,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  selected: Tensor,
  out: Tensor,
  lse: Tensor,
  shape: LrsaShape,
): void {
  const op = 'lrsaAttentionForward';
  checkShape(shape, op);
  const sizes = lrsaTensorSizes(shape);
  for (const [t, name] of [
    [q, 'q'],
    [k, 'k'],
    [v, 'v'],
    [out, 'out'],
  ] as const)
    need(t, sizes.activations, 'f32', name, op);
  need(selected, sizes.selected, 'i32', 'selected', op);
  need(lse, sizes.lse, 'f32', 'lse', op);
  const tiling = lrsaTiling(shape);
  batch.dispatch({
    shader: 'lrsa-attention',
    entryPoint: 'forward',
    label: `lrsaAttentionForward T=${shape.seqLen} H=${shape.heads} D=${shape.headDim}`,
    constants: attentionConstants(shape, tiling),
    uniforms: attentionUniforms(shape, tiling),
    buffers: [q, k, v, selected, out, lse],
    workgroups: [tiling.tiles, shape.heads, shape.batch],
  });
}

export interface LrsaBackwardTensors {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  selected: Tensor;
  /** Forward outputs. */
  out: Tensor;
  lse: Tensor;
  /** Gradient of the loss with respect to out. */
  dout: Tensor;
  /** Scratch [B, H, T, 2] (lrsaTensorSizes(shape).rowStats). */
  rowStats: Tensor;
  /** Written (not accumulated). */
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

/**
 * Records the LRSA backward with the selection held constant: Δ per row, then dq (gather
 * over each query's keys), dk/dv over the near query ranges (overwrite), then dk/dv of sinks
 * and selected keys over their far ranges (add). Four dispatches in one pass.
 */
export function lrsaAttentionBackward(batch: CommandBatch, t: LrsaBackwardTensors, shape: LrsaShape): void {
  const op = 'lrsaAttentionBackward';
  checkShape(shape, op);
  const sizes = lrsaTensorSizes(shape);
  for (const name of ['q', 'k', 'v', 'out', 'dout', 'dq', 'dk', 'dv'] as const)
    need(t[name], sizes.activations, 'f32', name, op);
  need(t.selected, sizes.selected, 'i32', 'selected', op);
  need(t.lse, sizes.lse, 'f32', 'lse', op);
  need(t.rowStats, sizes.rowStats, 'f32', 'rowStats', op);
  const tiling = lrsaTiling(shape);
  const constants = attentionConstants(shape, tiling);
  const uniforms = attentionUniforms(shape, tiling);
  const grid = [tiling.tiles, shape.heads, shape.batch] as const;
  const what = `T=${shape.seqLen} H=${shape.heads} D=${shape.headDim}`;

  const rows = shape.batch * shape.heads * shape.seqLen;
  const prepGroups = Math.ceil(rows / LRSA_PREP_WORKGROUP);
  const prepX = Math.min(prepGroups, MAX_WORKGROUPS_PER_DIM);
  batch.dispatch({
    shader: 'lrsa-attention',
    entryPoint: 'backward_prep',
    label: `lrsaAttentionBackward prep ${what}`,
    constants: { HEAD_DIM: shape.headDim },
    uniforms,
    buffers: [t.out, t.dout, t.lse, t.rowStats],
    workgroups: [prepX, Math.ceil(prepGroups / prepX)],
  });
  batch.dispatch({
    shader: 'lrsa-attention',
    entryPoint: 'backward_dq',
    label: `lrsaAttentionBackward dq ${what}`,
    constants,
    uniforms,
    buffers: [t.q, t.k, t.v, t.selected, t.dout, t.rowStats, t.dq],
    workgroups: grid,
  });
  batch.dispatch({
    shader: 'lrsa-attention',
    entryPoint: 'backward_dkv_near',
    label: `lrsaAttentionBackward dk/dv near ${what}`,
    constants,
    uniforms,
    buffers: [t.q, t.k, t.v, t.selected, t.dout, t.rowStats, t.dk, t.dv],
    workgroups: grid,
  });
  if (tiling.farTiles > 0) {
    batch.dispatch({
      shader: 'lrsa-attention',
      entryPoint: 'backward_dkv_far',
      label: `lrsaAttentionBackward dk/dv far ${what}`,
      constants,
      uniforms,
      buffers: [t.q, t.k, t.v, t.selected, t.dout, t.rowStats, t.dk, t.dv],
      workgroups: [tiling.farTiles, shape.heads, shape.batch],
    });
  }
}
