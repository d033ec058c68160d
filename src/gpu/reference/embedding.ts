// CPU twin of shaders/embedding.wgsl: token embedding lookup and its gradient.
//
// Layouts (row-major): tokens i32 [N], table E [V, C], out [N, C].
// The backward is a gather: dE[v] = Σ_{n : tokens[n] = v} dout[n], walking a CSR list of
// the positions of each token id (WGSL has no float atomics, so the GPU cannot scatter-add).

import { allocLike, type FloatArray, needLength } from './float-array.ts';

/** Positions of each token id: those of id v are positions[offsets[v] .. offsets[v + 1]). */
export interface TokenPositionLists {
  /** Int32 [V + 1], offsets[0] = 0, offsets[V] = N. */
  offsets: Int32Array;
  /** Int32 [N], ascending within each id. */
  positions: Int32Array;
}

/** Throws a RangeError naming the first position whose token id is outside [0, V). */
export function checkTokenIds(tokens: ArrayLike<number>, V: number, what = 'tokens'): void {
  for (let n = 0; n < tokens.length; n++) {
    const t = tokens[n];
    if (!Number.isInteger(t) || t < 0 || t >= V) {
      throw new RangeError(`${what}[${n}] = ${t} is not a token id in [0, ${V}) (vocabulary size V = ${V})`);
    }
  }
}

/**
 * Counting sort of positions by token id, O(N + V). Validates the ids. `out` may be given
 * to reuse arrays across steps (offsets of length ≥ V + 1, positions ≥ N).
 */
export function buildTokenPositionLists(
  tokens: ArrayLike<number>,
  V: number,
  out?: TokenPositionLists,
): TokenPositionLists {
  checkTokenIds(tokens, V);
  const N = tokens.length;
  const offsets = out?.offsets ?? new Int32Array(V + 1);
  const positions = out?.positions ?? new Int32Array(N);
  needLength(offsets, V + 1, 'token position offsets');
  needLength(positions, N, 'token positions');
  offsets.fill(0, 0, V + 1);
  for (let n = 0; n < N; n++) offsets[tokens[n] + 1]++;
  for (let v = 0; v < V; v++) offsets[v + 1] += offsets[v];
  // Fill with a running cursor per id (offsets shifted by one), then shift back.
  for (let n = 0; n < N; n++) positions[offsets[tokens[n]]++] = n;
  for (let v = V; v > 0; v--) offsets[v] = offsets[v - 1];
  offsets[0] = 0;
  return { offsets, positions };
}

function checkTokenCount(tokens: ArrayLike<number>, N: number, what: string): void {
  if (tokens.length !== N) throw new RangeError(`${what}: ${tokens.length} tokens given for N = ${N} rows`);
}

/** out[n, :] = table[tokens[n], :]. Throws on ids outside [0, V). */
export function embeddingForward<F extends FloatArray>(
  tokens: ArrayLike<number>,
  table: F,
  N: number,
  C: number,
  V: number,
): F {
  checkTokenCount(tokens, N, 'embeddingForward');
  needLength(table, V * C, 'embeddingForward table');
  checkTokenIds(tokens, V);
  const out = allocLike(table, N * C);
  for (let n = 0; n < N; n++) {
    const src = tokens[n] * C;
    for (let c = 0; c < C; c++) out[n * C + c] = table[src + c];
  }
  return out;
}

/**
 * dTable[v, :] (+)= Σ_{n : tokens[n] = v} dout[n, :]. Adds into `accumulateInto` when given
 * (the tied output head contributes its own gradient to the same table), else returns a
 * fresh [V, C] array. Sums in position order, as the GPU kernel does.
 */
export function embeddingBackward<F extends FloatArray>(
  tokens: ArrayLike<number>,
  dout: F,
  N: number,
  C: number,
  V: number,
  accumulateInto?: F,
): F {
  checkTokenCount(tokens, N, 'embeddingBackward');
  needLength(dout, N * C, 'embeddingBackward dout');
  if (accumulateInto) needLength(accumulateInto, V * C, 'embeddingBackward dTable');
  const { offsets, positions } = buildTokenPositionLists(tokens, V);
  const dTable = accumulateInto ?? allocLike(dout, V * C);
  for (let v = 0; v < V; v++) {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let i = offsets[v]; i < offsets[v + 1]; i++) sum += dout[positions[i] * C + c];
      dTable[v * C + c] += sum;
    }
  }
  return dTable;
}
