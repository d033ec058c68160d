// Wrapper for shaders/matmul.wgsl: records C (+)= alpha · op(A) · op(B) into a batch (per
// batch matrix, or summed over the batch with sumBatch).

import type { CommandBatch } from '../batch.ts';
import { GpuError } from '../errors.ts';
import type { MatmulShape } from '../reference/matmul.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import { spreadWorkgroups } from './workgroups.ts';

/** Rows and columns of C per workgroup. */
export const MATMUL_TILE = 64;

export const MATMUL_PARAMS = uniformLayout('matmul', 'Params', {
  M: 'u32',
  N: 'u32',
  K: 'u32',
  batch: 'u32',
  strideA: 'u32',
  strideB: 'u32',
  strideC: 'u32',
  alpha: 'f32',
});

export interface MatmulOptions extends MatmulShape {
  accumulate?: boolean;
  /** One C = the sum over the batch of op(A[b]) · op(B[b]) (strideC unused). */
  sumBatch?: boolean;
  /** C = alpha · op(A) · op(B) + residual (laid out as C; not with accumulate). */
  residual?: Tensor;

  /**
   * Hold the tiles in f16 (shaders/matmul-f16.wgsl): op(A), op(B) rounded to f16 on load, sums
   * in f32. The device must have shader-f16.
   */
  f16Tiles?: boolean;

  /** Element offsets between batch matrices; default: densely packed. */
  strideA?: number;
  strideB?: number;
  strideC?: number;
}

function need(t: Tensor, elements: number, what: string): void {
  if (t.length < elements) {
    throw new GpuError(
      'invalid-shape',
      `matmul: ${what} "${t.label}" has ${t.length} elements, needs ${elements}`,
    );
  }
}

/** The module and entry point: the f16-tile variant when asked, else vec4 loads where they fit. */
export function matmulKernel(
  vec4: boolean,
  residual: boolean,
  f16Tiles: boolean,
): { shader: 'matmul' | 'matmul-f16'; entryPoint: string } {
  const suffix = residual ? '_residual' : '';
  if (f16Tiles) return { shader: 'matmul-f16', entryPoint: `main_f16${suffix}` };
  return { shader: 'matmul', entryPoint: `${vec4 ? 'main_vec4' : 'main'}${suffix}` };
}

export function matmul(batch: CommandBatch, a: Tensor, b: Tensor, c: Tensor, options: MatmulOptions): void {
  const {
    M,
    N,
    K,
    transA = false,
    transB = false,
    alpha = 1,
    accumulate = false,
    sumBatch = false,
  } = options;
  const count = options.batch ?? 1;
  const strideA = options.strideA ?? M * K;
  const strideB = options.strideB ?? K * N;
  const strideC = options.strideC ?? M * N;
  const f16Tiles = options.f16Tiles ?? false;
  if (f16Tiles && !batch.ctx.hasFeature('shader-f16')) {
    throw new GpuError(
      'validation',
      'matmul: f16Tiles = true, but this device lacks the "shader-f16" feature',
    );
  }
  if (count === 0 || M === 0 || N === 0) return;
  need(a, (count - 1) * strideA + M * K, 'A');
  need(b, (count - 1) * strideB + K * N, 'B');
  need(c, (sumBatch ? 0 : (count - 1) * strideC) + M * N, 'C');
  const { residual } = options;
  if (residual) {
    need(residual, (sumBatch ? 0 : (count - 1) * strideC) + M * N, 'residual');
    if (accumulate) throw new GpuError('invalid-shape', 'matmul: residual and accumulate together');
    // Read-only and writable bindings of one buffer in one dispatch: WebGPU rejects it.
    if (residual.buffer === c.buffer) {
      throw new GpuError('validation', `matmul: residual "${residual.label}" is in the same buffer as C`);
    }
  }
  if (K === 0 && !accumulate && !residual) {
    batch.clear(c, 0, (sumBatch ? 1 : count) * M * N * 4);
    return;
  }
  // Whole vec4 loads from global memory when rows are multiples of 4 floats (and aligned).
  const vec4 = !transA && !transB && K % 4 === 0 && N % 4 === 0 && strideA % 4 === 0 && strideB % 4 === 0;
  batch.dispatch({
    ...matmulKernel(vec4, residual !== undefined, f16Tiles),
    label: `matmul ${M}x${N}x${K}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}${f16Tiles ? ' f16' : vec4 ? ' vec4' : ''}${count > 1 ? ` ×${count}${sumBatch ? ' summed' : ''}` : ''}${residual ? ' + residual' : ''}`,
    constants: { TRANS_A: transA, TRANS_B: transB, ACCUMULATE: accumulate, SUM_BATCH: sumBatch },
    uniforms: MATMUL_PARAMS.pack({ M, N, K, batch: count, strideA, strideB, strideC, alpha }),
    buffers: residual ? [a, b, c, residual] : [a, b, c],
    workgroups: [Math.ceil(N / MATMUL_TILE), Math.ceil(M / MATMUL_TILE), sumBatch ? 1 : count],
  });
}

/** Fewest rows of K per slice of a split-K product: each workgroup still runs 8 K-tiles. */
export const SPLIT_K_MIN_ROWS = 256;
const SPLIT_K_MAX_SLICES = 32;
/** Invocations per workgroup of the summing pass (SUM_WG in matmul.wgsl). */
const SUM_WORKGROUP = 64;

/**
 * How many equal slices to cut K into so that an Aᵀ·B product with few output tiles (a weight
 * gradient: one 64×64 tile of C over thousands of rows) gives about `targetWorkgroups`
 * workgroups: a divisor of K, each slice at least SPLIT_K_MIN_ROWS long; 1 = do not split.
 */
export function splitKSlices(M: number, N: number, K: number, targetWorkgroups: number): number {
  const tiles = Math.ceil(M / MATMUL_TILE) * Math.ceil(N / MATMUL_TILE);
  let slices = Math.min(
    Math.ceil(targetWorkgroups / tiles),
    Math.floor(K / SPLIT_K_MIN_ROWS),
    SPLIT_K_MAX_SLICES,
  );
  while (slices > 1 && K % slices !== 0) slices--;
  return Math.max(1, slices);
}

/**
 * C (+)= alpha · Aᵀ · B (A stored K×M, B stored K×N: a linear layer's weight gradient dyᵀ · x)
 * with K cut into `slices` equal slices: their products go to `partials` [slices, M, N] in one
 * batched dispatch of slices × the tiles of C, and a second pass sums them into C. Where C has
 * few tiles and K is long, this keeps a GPU's cores busy instead of one workgroup looping over K.
 */
export function matmulSplitK(
  batch: CommandBatch,
  a: Tensor,
  b: Tensor,
  c: Tensor,
  partials: Tensor,
  options: { M: number; N: number; K: number; slices: number; alpha?: number; accumulate?: boolean },
): void {
  const { M, N, K, slices, alpha = 1, accumulate = false } = options;
  if (!Number.isInteger(slices) || slices < 1 || K % slices !== 0) {
    throw new GpuError('invalid-shape', `matmulSplitK: K = ${K} does not cut into ${slices} equal slices`);
  }
  if (slices === 1 || M === 0 || N === 0) {
    matmul(batch, a, b, c, { M, N, K, transA: true, alpha, accumulate });
    return;
  }
  const k = K / slices;
  need(c, M * N, 'C');
  need(partials, slices * M * N, 'partials');
  matmul(batch, a, b, partials, {
    M,
    N,
    K: k,
    transA: true,
    batch: slices,
    strideA: k * M,
    strideB: k * N,
    strideC: M * N,
  });
  batch.dispatch({
    shader: 'matmul',
    entryPoint: 'sum_slices',
    label: `matmul split-K sum ${M}x${N} ×${slices}`,
    constants: { ACCUMULATE: accumulate },
    uniforms: MATMUL_PARAMS.pack({ M, N, K, batch: slices, strideA: 0, strideB: 0, strideC: 0, alpha }),
    buffers: [partials, c],
    workgroups: spreadWorkgroups(Math.ceil((M * N) / SUM_WORKGROUP)),
  });
}
