// CPU twin of shaders/attention.wgsl: causal multi-head attention with a sliding window.
//
// Layouts (row-major, as they come out of a linear layer, no transposes):
//   q, k, v, out, dout, dq, dk, dv   [B, T, C] with C = H·D; head h owns channels h·D .. h·D + D − 1.
//   lse, delta                       [B, H, T]
// Query t attends to keys u with 0 ≤ t − u < window (window keys, itself included);
// window ≥ T is global causal attention. Scores are scale · q_t·k_u (scale 1/√D by default).
//
// Forward:  out_t = Σ_u P_tu v_u,  P_tu = exp(s_tu − L_t),  L_t = log Σ_u exp(s_tu)  (stored as lse).
// Backward (from q, k, v, out, lse and dout; the probabilities are recomputed):
//   Δ_t   = Σ_d dout_td · out_td
//   dS_tu = P_tu · (dout_t·v_u − Δ_t)
//   dq_t  = scale · Σ_u dS_tu k_u,   dk_u = scale · Σ_t dS_tu q_t,   dv_u = Σ_t P_tu dout_t
// Sums run in float64; results are stored in the array type asked for (Float32Array by default,
// Float64Array for finite-difference checks).

export interface AttentionShape {
  /** Batch size. */
  B: number;
  /** Sequence length. */
  T: number;
  /** Number of heads. */
  H: number;
  /** Head dimension; C = H·D. */
  D: number;
  /** Keys visible to each query, itself included (≥ 1). Any value ≥ T (or Infinity) is global attention. */
  window: number;
  /** Score scale; 1/√D when left out. */
  scale?: number;
}

export type FloatArray = Float32Array | Float64Array;
/** Constructor of the output arrays: Float32Array (default) or Float64Array. */
export type FloatArrayType<A extends FloatArray> = new (length: number) => A;

export function attentionScale(shape: AttentionShape): number {
  return shape.scale ?? 1 / Math.sqrt(shape.D);
}

/** The first key visible to query t. */
function firstKey(t: number, window: number): number {
  return Math.max(0, t - window + 1);
}

function checkShape(shape: AttentionShape, arrays: Record<string, ArrayLike<number>>): void {
  const { B, T, H, D, window } = shape;
  for (const [name, v] of Object.entries({ B, T, H, D })) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`attention: ${name} = ${v} is not a whole number ≥ 0`);
  }
  if (!(window >= 1) || (!Number.isInteger(window) && window !== Number.POSITIVE_INFINITY)) {
    throw new Error(`attention: window = ${window} must be a whole number ≥ 1 (or Infinity for global)`);
  }
  const need = { bytc: B * T * H * D, bht: B * H * T };
  for (const [name, a] of Object.entries(arrays)) {
    const n = name === 'lse' || name === 'delta' ? need.bht : need.bytc;
    if (a.length < n) throw new Error(`attention: ${name} has ${a.length} elements, needs ${n}`);
  }
}

/** Forward pass: out [B, T, C] and the per-row log-sum-exp lse [B, H, T]. */
export function attentionForwardReference<A extends FloatArray = Float32Array>(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  shape: AttentionShape,
  ArrayType: FloatArrayType<A> = Float32Array as unknown as FloatArrayType<A>,
): { out: A; lse: A } {
  checkShape(shape, { q, k, v });
  const { B, T, H, D, window } = shape;
  const C = H * D;
  const scale = attentionScale(shape);
  const out = new ArrayType(B * T * C);
  const lse = new ArrayType(B * H * T);
  const scores = new Float64Array(Math.min(T, window));
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const qi = (b * T + t) * C + h * D;
        const lo = firstKey(t, window);
        let max = Number.NEGATIVE_INFINITY;
        for (let u = lo; u <= t; u++) {
          const ki = (b * T + u) * C + h * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[qi + d] * k[ki + d];
          s *= scale;
          scores[u - lo] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        acc.fill(0);
        for (let u = lo; u <= t; u++) {
          const p = Math.exp(scores[u - lo] - max);
          sum += p;
          const vi = (b * T + u) * C + h * D;
          for (let d = 0; d < D; d++) acc[d] += p * v[vi + d];
        }
        for (let d = 0; d < D; d++) out[qi + d] = acc[d] / sum;
        lse[(b * H + h) * T + t] = max + Math.log(sum);
      }
    }
  }
  return { out, lse };
}

/** Δ [B, H, T]: the row sums of dout ⊙ out over each head's channels. */
export function attentionDeltaReference<A extends FloatArray = Float32Array>(
  out: ArrayLike<number>,
  dout: ArrayLike<number>,
  shape: AttentionShape,
  ArrayType: FloatArrayType<A> = Float32Array as unknown as FloatArrayType<A>,
): A {
  checkShape(shape, { out, dout });
  const { B, T, H, D } = shape;
  const C = H * D;
  const delta = new ArrayType(B * H * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const i = (b * T + t) * C + h * D;
        let s = 0;
        for (let d = 0; d < D; d++) s += dout[i + d] * out[i + d];
        delta[(b * H + h) * T + t] = s;
      }
    }
  }
  return delta;
}

/** Backward pass: gradients of q, k and v [B, T, C] given dout, from the forward's out and lse. */
export function attentionBackwardReference<A extends FloatArray = Float32Array>(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  out: ArrayLike<number>,
  lse: ArrayLike<number>,
  dout: ArrayLike<number>,
  shape: AttentionShape,
  ArrayType: FloatArrayType<A> = Float32Array as unknown as FloatArrayType<A>,
): { dq: A; dk: A; dv: A } {
  checkShape(shape, { q, k, v, out, lse, dout });
  const { B, T, H, D, window } = shape;
  const C = H * D;
  const scale = attentionScale(shape);
  const delta = attentionDeltaReference(out, dout, shape, Float64Array);
  const dq = new Float64Array(B * T * C);
  const dk = new Float64Array(B * T * C);
  const dv = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const qi = (b * T + t) * C + h * D;
        const L = lse[(b * H + h) * T + t];
        const delta_t = delta[(b * H + h) * T + t];
        for (let u = firstKey(t, window); u <= t; u++) {
          const ki = (b * T + u) * C + h * D;
          let s = 0;
          let dp = 0;
          for (let d = 0; d < D; d++) {
            s += q[qi + d] * k[ki + d];
            dp += dout[qi + d] * v[ki + d];
          }
          const p = Math.exp(scale * s - L);
          const ds = p * (dp - delta_t) * scale;
          for (let d = 0; d < D; d++) {
            dq[qi + d] += ds * k[ki + d];
            dk[ki + d] += ds * q[qi + d];
            dv[ki + d] += p * dout[qi + d];
          }
        }
      }
    }
  }
  const cast = (x: Float64Array): A => {
    const y = new ArrayType(x.length);
    y.set(x);
    return y;
  };
  return { dq: cast(dq), dk: cast(dk), dv: cast(dv) };
}
