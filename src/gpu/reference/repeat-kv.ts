// CPU twin of shaders/repeat-kv.wgsl: grouped-query attention's K/V widening.
//
//   forward:  y[n, h·D + d]  = x[n, (h / group)·D + d],   group = heads / kvHeads
//   backward: dx[n, j·D + d] = Σ_{g < group} dy[n, (j·group + g)·D + d]
//
// x, dx [N, kvHeads·D]; y, dy [N, heads·D], row-major. Query head h uses key/value head
// ⌊h / group⌋, as transformers' repeat_kv (consecutive query heads share a key/value head).

import { allocLike, type FloatArray, needLength } from './float-array.ts';

export interface HeadGroupShape {
  /** Rows (token positions). */
  N: number;
  heads: number;
  kvHeads: number;
  /** Channels per head. */
  D: number;
}

/** Query heads per key/value head; throws unless kvHeads divides heads. */
export function headGroup(shape: HeadGroupShape): number {
  const { heads, kvHeads } = shape;
  if (!(kvHeads >= 1) || heads % kvHeads !== 0)
    throw new RangeError(`repeatKv: kvHeads ${kvHeads} must divide heads ${heads}`);
  return heads / kvHeads;
}

export function repeatKvForward<F extends FloatArray>(x: F, shape: HeadGroupShape): F {
  const { N, heads, kvHeads, D } = shape;
  const group = headGroup(shape);
  needLength(x, N * kvHeads * D, 'repeatKvForward x');
  const y = allocLike(x, N * heads * D);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < heads; h++) {
      const from = (n * kvHeads + Math.floor(h / group)) * D;
      y.set(x.subarray(from, from + D), (n * heads + h) * D);
    }
  }
  return y;
}

export function repeatKvBackward<F extends FloatArray>(dy: F, shape: HeadGroupShape): F {
  const { N, heads, kvHeads, D } = shape;
  const group = headGroup(shape);
  needLength(dy, N * heads * D, 'repeatKvBackward dy');
  const dx = allocLike(dy, N * kvHeads * D);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < heads; h++) {
      const to = (n * kvHeads + Math.floor(h / group)) * D;
      const from = (n * heads + h) * D;
      for (let d = 0; d < D; d++) dx[to + d] += dy[from + d];
    }
  }
  return dx;
}
