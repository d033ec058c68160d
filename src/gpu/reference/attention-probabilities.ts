// The attention weights themselves, for display: softmax probabilities P[b, h, t, u] of query t
// over key u, computed on the CPU from q and k the way the attention twins do (scale 1/√D,
// float64 sums, the same visible keys). Windowed and global attention see keys
// t − window + 1 … t (attention.ts); LRSA sees what lrsaVisibleMask says (lrsa.ts).
// Keys a query cannot see have probability exactly 0, so every row sums to 1 over its band.

import { type AttentionShape, attentionScale } from './attention.ts';

/**
 * Which keys each query sees: a window band, or an explicit mask [B, H, T, T] (1 = visible,
 * e.g. lrsaVisibleMask), which must include the query's own position.
 */
export type AttentionVisibility = { kind: 'window' } | { kind: 'mask'; mask: Uint8Array };

/** P [B, H, T, T] (row t: query t, column u: key u), Float32, zero where a key is not visible. */
export function attentionProbabilities(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  shape: AttentionShape,
  visibility: AttentionVisibility = { kind: 'window' },
): Float32Array {
  const { B, T, H, D, window } = shape;
  const C = H * D;
  for (const [name, a] of [
    ['q', q],
    ['k', k],
  ] as const) {
    if (a.length < B * T * C)
      throw new Error(`attentionProbabilities: ${name} has ${a.length} elements, needs ${B * T * C}`);
  }
  if (!(window >= 1)) throw new Error(`attentionProbabilities: window = ${window} must be ≥ 1`);
  if (visibility.kind === 'mask' && visibility.mask.length < B * H * T * T) {
    throw new Error(
      `attentionProbabilities: mask has ${visibility.mask.length} elements, needs ${B * H * T * T}`,
    );
  }
  const scale = attentionScale(shape);
  const probs = new Float32Array(B * H * T * T);
  const scores = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const row = ((b * H + h) * T + t) * T;
        const visible =
          visibility.kind === 'mask'
            ? (u: number) => visibility.mask[row + u] === 1
            : (u: number) => t - u < window;
        const qi = (b * T + t) * C + h * D;
        let max = Number.NEGATIVE_INFINITY;
        for (let u = 0; u <= t; u++) {
          if (!visible(u)) continue;
          const ki = (b * T + u) * C + h * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[qi + d] * k[ki + d];
          scores[u] = s * scale;
          if (scores[u] > max) max = scores[u];
        }
        let sum = 0;
        for (let u = 0; u <= t; u++) {
          if (!visible(u)) continue;
          scores[u] = Math.exp(scores[u] - max);
          sum += scores[u];
        }
        for (let u = 0; u <= t; u++) if (visible(u)) probs[row + u] = scores[u] / sum;
      }
    }
  }
  return probs;
}
