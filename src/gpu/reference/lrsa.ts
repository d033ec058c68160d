// CPU twin of shaders/lrsa-select.wgsl and shaders/lrsa-attention.wgsl: LagKV chunk selection
// and Lag-Relative Sparse Attention (LRSA), docs/evaluation.md §1.2–§1.5.
//
// Layouts (row-major):
//   q, k, v, out, dout   [B, T, C], C = H·D; head h owns channels h·D .. h·D + D − 1.
//                        k already carries RoPE (it is the key the attention sees).
//   selected             Int32 [B, H, scoredChunks, keep]: absolute token positions kept from
//                        each scored chunk, ascending within a chunk (so the whole visible
//                        prefix sink ∪ Sel_0 ∪ Sel_1 ∪ … is ascending too).
//   scores               Float32 [B, H, scoredChunks, L]: LagKV score s^K + r·s^V per token.
//   lse                  Float32 [B, H, T]: log-sum-exp of the scaled logits of each query row.
//
// Chunks start after the S sink tokens: chunk i = [S + iL, S + (i+1)L). Chunk i is scored
// (and selected from) when its successor chunk i+1 is complete inside T.
//
// Visible keys of query t (§1.4):
//   t < S + 2L            all u ≤ t (full causal: sink, chunk 0, chunk 1);
//   t in chunk j ≥ 2      sink [0, S) ∪ Sel_0 … Sel_{j−2} ∪ chunk j−1 ∪ chunk j up to t.
// Positions after the last full chunk (the tail, fewer than L tokens) form chunk
// j = fullChunks of their own and follow the same rule; Sel_{j−2} exists because chunk j−1
// is the last full chunk. This is what LagKV's chunked prefill does with a short last step.
//
// Seen from the key side, key u is visible to the contiguous query range [u, queryEnd(u)):
//   u < S or u ∈ Sel_i    queryEnd = T (sinks and selected keys stay visible forever);
//   otherwise (chunk i)   queryEnd = min(T, S + (i+2)L) (chunks i and i+1 see it in full).
// The GPU backward gathers dk/dv along these ranges; the brute-force mask checks both views.

export interface LrsaShape {
  batch: number;
  seqLen: number;
  heads: number;
  headDim: number;
  /** Sink tokens S at the start, always visible. */
  sink: number;
  /** Chunk (lag) length L. */
  chunk: number;
  /** Tokens kept per scored chunk: floor(ratio · L), see lagkvKeepCount. */
  keep: number;
}

export interface LagkvScoreOptions {
  /** Weight r of the value score: score = s^K + r·s^V (LagKV's score_v_ratio, default 1). */
  scoreVRatio?: number;
  /**
   * Added to the reference chunk's per-channel range (max − min) before dividing. LagKV's own
   * code has none and produces NaN when a channel is constant over the reference chunk (a run
   * of one repeated token makes V constant). Default 1e-6: far below the range of any
   * non-constant channel of O(1) activations, so ordinary scores are unchanged to f32
   * precision, while a constant channel gives finite values: 0 for tokens equal to the
   * reference (no surprise) and ~1e6·|x − ref| otherwise (maximal surprise).
   */
  epsilon?: number;
}

export const LAGKV_DEFAULT_EPSILON = 1e-6;

/** Kept tokens per chunk: int(ratio · L) as in LagKV's Python code. */
export function lagkvKeepCount(chunk: number, ratio: number): number {
  return Math.max(0, Math.min(chunk, Math.floor(ratio * chunk)));
}

export interface LrsaChunkCounts {
  /** Complete chunks inside T: floor((T − S) / L), 0 when T ≤ S. */
  fullChunks: number;
  /** Chunks with a complete successor: fullChunks − 1 (at least 0). */
  scoredChunks: number;
  /** End of the fully causal first window: min(T, S + 2L). */
  firstWindowEnd: number;
}

export function lrsaChunkCounts(shape: LrsaShape): LrsaChunkCounts {
  const { seqLen: T, sink: S, chunk: L } = shape;
  const fullChunks = T > S ? Math.floor((T - S) / L) : 0;
  return {
    fullChunks,
    scoredChunks: Math.max(0, fullChunks - 1),
    firstWindowEnd: Math.min(T, S + 2 * L),
  };
}

/** Throws with the offending field named unless the shape is usable. */
export function validateLrsaShape(shape: LrsaShape, what = 'lrsa'): void {
  const positive: Array<keyof LrsaShape> = ['batch', 'seqLen', 'heads', 'headDim', 'chunk'];
  for (const field of positive) {
    const value = shape[field];
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`${what}: ${field} = ${value} must be a whole number ≥ 1`);
  }
  if (!Number.isInteger(shape.sink) || shape.sink < 0)
    throw new Error(`${what}: sink = ${shape.sink} must be a whole number ≥ 0`);
  if (!Number.isInteger(shape.keep) || shape.keep < 0 || shape.keep > shape.chunk)
    throw new Error(`${what}: keep = ${shape.keep} must be a whole number in [0, chunk = ${shape.chunk}]`);
}

function checkLength(array: ArrayLike<number>, expected: number, name: string, what: string): void {
  if (array.length !== expected)
    throw new Error(`${what}: ${name} has ${array.length} elements, expected ${expected}`);
}

// ---------------------------------------------------------------------------------------------
// Selection

const f32 = Math.fround;

/**
 * LagKV scores and top-k selection per (batch, head, scored chunk), no gradient.
 * Every step is rounded to f32 in the same order as the kernel (min/max, (x − min)/(span + ε),
 * sequential channel sums, sequential softmax sums), so the selected indices agree exactly
 * except at near-ties closer than f32 rounding of exp/division.
 * Tie-break: higher score first, then lower position; token l is kept iff fewer than `keep`
 * tokens of its chunk beat it.
 */
export function lagkvSelectReference(
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  shape: LrsaShape,
  options: LagkvScoreOptions = {},
): { selected: Int32Array; scores: Float32Array } {
  validateLrsaShape(shape, 'lagkvSelectReference');
  const { batch: B, seqLen: T, heads: H, headDim: D, sink: S, chunk: L, keep } = shape;
  if (D < 2) throw new Error(`lagkvSelectReference: headDim = ${D} must be ≥ 2 (unbiased std over channels)`);
  const C = H * D;
  checkLength(k, B * T * C, 'k', 'lagkvSelectReference');
  checkLength(v, B * T * C, 'v', 'lagkvSelectReference');
  const r = f32(options.scoreVRatio ?? 1);
  const eps = f32(options.epsilon ?? LAGKV_DEFAULT_EPSILON);
  const { scoredChunks: P } = lrsaChunkCounts(shape);
  const selected = new Int32Array(B * H * P * keep);
  const scores = new Float32Array(B * H * P * L);

  const low = new Float32Array(D);
  const span = new Float32Array(D);
  const sigma = [new Float32Array(L), new Float32Array(L)];
  const score = new Float32Array(L);

  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < P; i++) {
        const chunkStart = S + i * L;
        const refStart = chunkStart + L;
        [k, v].forEach((x, which) => {
          for (let d = 0; d < D; d++) {
            let mn = x[(b * T + refStart) * C + h * D + d];
            let mx = mn;
            for (let j = 1; j < L; j++) {
              const value = x[(b * T + refStart + j) * C + h * D + d];
              mn = Math.min(mn, value);
              mx = Math.max(mx, value);
            }
            low[d] = mn;
            span[d] = f32(f32(mx - mn) + eps);
          }
          for (let l = 0; l < L; l++) {
            sigma[which][l] = channelStd(x, (b * T + chunkStart + l) * C + h * D, D, low, span);
          }
        });
        const sK = softmaxF32(sigma[0]);
        const sV = softmaxF32(sigma[1]);
        for (let l = 0; l < L; l++) score[l] = f32(sK[l] + f32(r * sV[l]));
        scores.set(score, ((b * H + h) * P + i) * L);
        let position = ((b * H + h) * P + i) * keep;
        for (let l = 0; l < L; l++) {
          if (beatenBy(score, l) < keep) selected[position++] = chunkStart + l;
        }
      }
    }
  }
  return { selected, scores };
}

/** Unbiased std over D channels of one token normalised by the reference range, in f32. */
function channelStd(
  x: ArrayLike<number>,
  row: number,
  D: number,
  low: Float32Array,
  span: Float32Array,
): number {
  let sum = 0;
  for (let d = 0; d < D; d++) sum = f32(sum + f32(f32(x[row + d] - low[d]) / span[d]));
  const mean = f32(sum / D);
  let squares = 0;
  for (let d = 0; d < D; d++) {
    const dev = f32(f32(f32(x[row + d] - low[d]) / span[d]) - mean);
    squares = f32(squares + f32(dev * dev));
  }
  return f32(Math.sqrt(f32(squares / (D - 1))));
}

function softmaxF32(x: Float32Array): Float32Array {
  let mx = x[0];
  for (let l = 1; l < x.length; l++) mx = Math.max(mx, x[l]);
  let sum = 0;
  for (let l = 0; l < x.length; l++) sum = f32(sum + f32(Math.exp(f32(x[l] - mx))));
  const out = new Float32Array(x.length);
  for (let l = 0; l < x.length; l++) out[l] = f32(f32(Math.exp(f32(x[l] - mx))) / sum);
  return out;
}

/** Number of tokens that beat token l: a higher score, or an equal score at a lower position. */
function beatenBy(score: Float32Array, l: number): number {
  let count = 0;
  for (let m = 0; m < score.length; m++) {
    if (score[m] > score[l] || (score[m] === score[l] && m < l)) count++;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// Visible sets

/** Visible key positions of query t for (b, h), ascending (§1.4). */
export function lrsaVisibleKeys(
  selected: ArrayLike<number>,
  shape: LrsaShape,
  b: number,
  h: number,
  t: number,
): number[] {
  const { heads: H, sink: S, chunk: L, keep } = shape;
  const { scoredChunks: P } = lrsaChunkCounts(shape);
  const keys: number[] = [];
  if (t < S + 2 * L) {
    for (let u = 0; u <= t; u++) keys.push(u);
    return keys;
  }
  const j = Math.floor((t - S) / L);
  for (let u = 0; u < S; u++) keys.push(u);
  for (let i = 0; i <= j - 2; i++) {
    for (let n = 0; n < keep; n++) keys.push(selected[((b * H + h) * P + i) * keep + n]);
  }
  for (let u = S + (j - 1) * L; u <= t; u++) keys.push(u);
  return keys;
}

/**
 * Brute-force visibility mask [B, H, T, T] (1 = query t sees key u), written straight from
 * the rule of §1.4 by set membership, independently of the gather order the twins use.
 */
export function lrsaVisibleMask(selected: ArrayLike<number>, shape: LrsaShape): Uint8Array {
  validateLrsaShape(shape, 'lrsaVisibleMask');
  const { batch: B, seqLen: T, heads: H, sink: S, chunk: L, keep } = shape;
  const { scoredChunks: P } = lrsaChunkCounts(shape);
  const mask = new Uint8Array(B * H * T * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kept = new Set<number>();
      for (let n = 0; n < P * keep; n++) kept.add(selected[(b * H + h) * P * keep + n]);
      for (let t = 0; t < T; t++) {
        const j = t < S ? -1 : Math.floor((t - S) / L);
        for (let u = 0; u <= t; u++) {
          const chunkOfU = u < S ? -1 : Math.floor((u - S) / L);
          const visible = t < S + 2 * L || u < S || chunkOfU >= j - 1 || (chunkOfU <= j - 2 && kept.has(u));
          if (visible) mask[((b * H + h) * T + t) * T + u] = 1;
        }
      }
    }
  }
  return mask;
}

// ---------------------------------------------------------------------------------------------
// Attention

export interface LrsaPrecision {
  /** 'f64' returns Float64Arrays (finite-difference checks); default 'f32'. */
  precision?: 'f32' | 'f64';
}

type FloatArray = Float32Array | Float64Array;

function allocate(n: number, precision: 'f32' | 'f64' | undefined): FloatArray {
  return precision === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

function checkAttentionInputs(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  selected: ArrayLike<number>,
  shape: LrsaShape,
  what: string,
): void {
  validateLrsaShape(shape, what);
  const { batch: B, seqLen: T, heads: H, headDim: D, keep } = shape;
  const n = B * T * H * D;
  checkLength(q, n, 'q', what);
  checkLength(k, n, 'k', what);
  checkLength(v, n, 'v', what);
  checkLength(selected, B * H * lrsaChunkCounts(shape).scoredChunks * keep, 'selected', what);
}

/**
 * LRSA forward: out = softmax(q·kᵀ/√D over the visible keys) · v per query row, plus the
 * row's log-sum-exp. Accumulates in float64.
 */
export function lrsaAttentionForwardReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  selected: ArrayLike<number>,
  shape: LrsaShape,
  options: LrsaPrecision = {},
): { out: FloatArray; lse: FloatArray } {
  checkAttentionInputs(q, k, v, selected, shape, 'lrsaAttentionForwardReference');
  const { batch: B, seqLen: T, heads: H, headDim: D } = shape;
  const C = H * D;
  const scale = 1 / Math.sqrt(D);
  const out = allocate(B * T * C, options.precision);
  const lse = allocate(B * H * T, options.precision);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const keys = lrsaVisibleKeys(selected, shape, b, h, t);
        const qRow = (b * T + t) * C + h * D;
        const logits = keys.map((u) => scale * dot(q, qRow, k, (b * T + u) * C + h * D, D));
        const mx = Math.max(...logits);
        let sum = 0;
        acc.fill(0);
        keys.forEach((u, n) => {
          const p = Math.exp(logits[n] - mx);
          sum += p;
          const vRow = (b * T + u) * C + h * D;
          for (let d = 0; d < D; d++) acc[d] += p * v[vRow + d];
        });
        for (let d = 0; d < D; d++) out[qRow + d] = acc[d] / sum;
        lse[(b * H + h) * T + t] = mx + Math.log(sum);
      }
    }
  }
  return { out, lse };
}

/**
 * LRSA backward with the selection held constant. With P = exp(logit − lse) and
 * Δ_t = Σ_d dout·out: dv_u += P·dout_t, dP = dout_t·v_u, dS = P·(dP − Δ_t),
 * dq_t += dS·k_u/√D, dk_u += dS·q_t/√D. Scatter form (fine on the CPU); the GPU gathers.
 */
export function lrsaAttentionBackwardReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  selected: ArrayLike<number>,
  out: ArrayLike<number>,
  lse: ArrayLike<number>,
  dout: ArrayLike<number>,
  shape: LrsaShape,
  options: LrsaPrecision = {},
): { dq: FloatArray; dk: FloatArray; dv: FloatArray } {
  const what = 'lrsaAttentionBackwardReference';
  checkAttentionInputs(q, k, v, selected, shape, what);
  const { batch: B, seqLen: T, heads: H, headDim: D } = shape;
  const C = H * D;
  checkLength(out, B * T * C, 'out', what);
  checkLength(dout, B * T * C, 'dout', what);
  checkLength(lse, B * H * T, 'lse', what);
  const scale = 1 / Math.sqrt(D);
  const dq = new Float64Array(B * T * C);
  const dk = new Float64Array(B * T * C);
  const dv = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const qRow = (b * T + t) * C + h * D;
        const delta = dot(dout, qRow, out, qRow, D);
        const rowLse = lse[(b * H + h) * T + t];
        for (const u of lrsaVisibleKeys(selected, shape, b, h, t)) {
          const kRow = (b * T + u) * C + h * D;
          const p = Math.exp(scale * dot(q, qRow, k, kRow, D) - rowLse);
          const ds = p * (dot(dout, qRow, v, kRow, D) - delta) * scale;
          for (let d = 0; d < D; d++) {
            dv[kRow + d] += p * dout[qRow + d];
            dq[qRow + d] += ds * k[kRow + d];
            dk[kRow + d] += ds * q[qRow + d];
          }
        }
      }
    }
  }
  if (options.precision === 'f64') return { dq, dk, dv };
  return { dq: Float32Array.from(dq), dk: Float32Array.from(dk), dv: Float32Array.from(dv) };
}

function dot(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, n: number): number {
  let s = 0;
  for (let d = 0; d < n; d++) s += a[ia + d] * b[ib + d];
  return s;
}

/**
 * End (exclusive) of the contiguous query range [u, end) that sees key u of (b, h): T for sink
 * and selected keys, the end of the next chunk otherwise. The GPU backward gathers dk/dv
 * along these ranges; tests check them against lrsaVisibleMask.
 */
export function lrsaKeyQueryEnd(u: number, isSelected: boolean, shape: LrsaShape): number {
  const { seqLen: T, sink: S, chunk: L } = shape;
  if (u < S || isSelected) return T;
  const i = Math.floor((u - S) / L);
  return Math.min(T, S + (i + 2) * L);
}

/** Query-key pairs the attention evaluates (for cost figures): Σ_t |visible(t)|, per (b, h). */
export function lrsaVisiblePairs(shape: LrsaShape): number {
  const { seqLen: T, sink: S, chunk: L, keep } = shape;
  let pairs = 0;
  for (let t = 0; t < T; t++) {
    if (t < S + 2 * L) pairs += t + 1;
    else {
      const j = Math.floor((t - S) / L);
      pairs += S + (j - 1) * keep + (t - (S + (j - 1) * L) + 1);
    }
  }
  return pairs;
}
