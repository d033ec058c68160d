// Wrapper for shaders/embedding.wgsl: token embedding lookup and its gather-based gradient.
//
// Token ids live on the CPU before they reach the GPU, so they are checked there
// (writeTokens throws on an id outside [0, V)), and the same pass builds the CSR lists of
// positions per id that the backward walks. The kernel itself writes zeros for bad ids
// rather than read out of bounds.

import type { CommandBatch } from '../batch.ts';
import type { GpuContext } from '../context.ts';
import { GpuError } from '../errors.ts';
import { buildTokenPositionLists, type TokenPositionLists } from '../reference/embedding.ts';
import { createTensor, destroyTensors, type Tensor, writeTensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import { needCount, needTensor, spreadWorkgroups } from './workgroups.ts';

export { buildTokenPositionLists, checkTokenIds, type TokenPositionLists } from '../reference/embedding.ts';

/** Invocations per workgroup (one element each). */
export const EMBEDDING_WORKGROUP = 256;
const WG = EMBEDDING_WORKGROUP;

export const EMBEDDING_PARAMS = uniformLayout('embedding', 'Params', { N: 'u32', C: 'u32', V: 'u32' });

export interface EmbeddingShape {
  /** Rows (B·T tokens). */
  N: number;
  /** Embedding width. */
  C: number;
  /** Vocabulary size. */
  V: number;
}

/** A step's token ids on the GPU, with the CSR lists of positions per id for the backward. */
export interface TokenBuffers {
  N: number;
  V: number;
  /** i32 [N] */
  tokens: Tensor<'i32'>;
  /** i32 [V + 1] */
  offsets: Tensor<'i32'>;
  /** i32 [N] */
  positions: Tensor<'i32'>;
  /** CPU copy of the lists, reused between writes. */
  lists: TokenPositionLists;
}

function checkShape(op: string, { N, C, V }: EmbeddingShape): void {
  needCount(op, 'N', N);
  needCount(op, 'C', C);
  needCount(op, 'V', V, 1);
}

export function createTokenBuffers(ctx: GpuContext, N: number, V: number, label = 'tokens'): TokenBuffers {
  needCount('createTokenBuffers', 'N', N);
  needCount('createTokenBuffers', 'V', V, 1);
  return {
    N,
    V,
    tokens: createTensor(ctx, [N], 'i32', label),
    offsets: createTensor(ctx, [V + 1], 'i32', `${label}:offsets`),
    positions: createTensor(ctx, [N], 'i32', `${label}:positions`),
    lists: { offsets: new Int32Array(V + 1), positions: new Int32Array(N) },
  };
}

/** Validates the ids (RangeError naming the first bad one), builds the CSR lists, uploads all. */
export function writeTokens(ctx: GpuContext, buffers: TokenBuffers, tokens: Int32Array): void {
  if (tokens.length !== buffers.N) {
    throw new GpuError(
      'invalid-shape',
      `writeTokens "${buffers.tokens.label}": ${tokens.length} ids given, the buffers hold N = ${buffers.N}`,
    );
  }
  buildTokenPositionLists(tokens, buffers.V, buffers.lists);
  writeTensor(ctx, buffers.tokens, tokens);
  writeTensor(ctx, buffers.offsets, buffers.lists.offsets);
  writeTensor(ctx, buffers.positions, buffers.lists.positions);
}

export function destroyTokenBuffers(buffers: TokenBuffers): void {
  destroyTensors(buffers.tokens, buffers.offsets, buffers.positions);
}

/** out [N, C] = table[tokens] with table [V, C]. */
export function embeddingForward(
  batch: CommandBatch,
  tokens: Tensor,
  table: Tensor,
  out: Tensor,
  shape: EmbeddingShape,
): void {
  const op = 'embeddingForward';
  checkShape(op, shape);
  const { N, C, V } = shape;
  needTensor(op, tokens, N, 'tokens', 'i32');
  needTensor(op, table, V * C, 'table');
  needTensor(op, out, N * C, 'out');
  if (N * C === 0) return;
  batch.dispatch({
    shader: 'embedding',
    entryPoint: 'forward',
    label: `embedding forward N=${N} C=${C}`,
    uniforms: EMBEDDING_PARAMS.pack({ N, C, V }),
    buffers: [tokens, table, out],
    workgroups: spreadWorkgroups(Math.ceil((N * C) / WG)),
  });
}

/**
 * dTable [V, C] (+)= Σ over the rows of each id of dout [N, C], walking `lists`
 * (TokenBuffers from writeTokens, or tensors laid out the same way).
 */
export function embeddingBackward(
  batch: CommandBatch,
  lists: { offsets: Tensor; positions: Tensor },
  dout: Tensor,
  dTable: Tensor,
  shape: EmbeddingShape,
  { accumulate = false }: { accumulate?: boolean } = {},
): void {
  const op = 'embeddingBackward';
  checkShape(op, shape);
  const { N, C, V } = shape;
  needTensor(op, lists.offsets, V + 1, 'offsets', 'i32');
  needTensor(op, lists.positions, N, 'positions', 'i32');
  needTensor(op, dout, N * C, 'dout');
  needTensor(op, dTable, V * C, 'dTable');
  if (V * C === 0) return;
  batch.dispatch({
    shader: 'embedding',
    entryPoint: 'backward',
    label: `embedding backward V=${V} C=${C}`,
    constants: { ACCUMULATE: accumulate },
    uniforms: EMBEDDING_PARAMS.pack({ N, C, V }),
    buffers: [lists.offsets, lists.positions, dout, dTable],
    workgroups: spreadWorkgroups(Math.ceil((V * C) / WG)),
  });
}
