// CPU twin of shaders/rope.wgsl: rotary position embedding (RoPE), Qwen3 / "rotate half" pairing.
//
// Layout: x, y [B, T, C] row-major with C = H·D (D even); head h owns channels h·D .. h·D + D − 1.
// Within each head, channel i pairs with channel i + D/2 (i < D/2) and the pair is rotated by
//   angle(pos, i) = pos · base^(−2i/D),   pos = t + offset:
//   y_i       = x_i · cos − x_{i+D/2} · sin
//   y_{i+D/2} = x_{i+D/2} · cos + x_i · sin
// The rotation is orthogonal, so the backward pass is the inverse rotation (angle → −angle):
//   dx_i = dy_i · cos + dy_{i+D/2} · sin,   dx_{i+D/2} = dy_{i+D/2} · cos − dy_i · sin.
//
// Angles are computed in float64, so large positions stay exact. (Hugging Face computes them in
// float32, which is off by up to ~pos·6e-8 radians; models trained here do not depend on that.)

import type { FloatArray, FloatArrayType } from './float-array.ts';

export interface RopeShape {
  /** Batch size. */
  B: number;
  /** Sequence length. */
  T: number;
  /** Number of heads. */
  H: number;
  /** Head dimension (even); C = H·D. */
  D: number;
  /** Frequency base θ; 10000 when left out. */
  base?: number;
  /** Position of t = 0 (e.g. tokens already in a cache); 0 when left out. */
  offset?: number;
}

export const DEFAULT_ROPE_BASE = 10000;

export function checkRopeShape(shape: RopeShape): void {
  const { B, T, H, D, offset = 0, base = DEFAULT_ROPE_BASE } = shape;
  for (const [name, v] of Object.entries({ B, T, H, D, offset })) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`rope: ${name} = ${v} is not a whole number ≥ 0`);
  }
  if (D % 2 !== 0)
    throw new Error(`rope: head dimension D = ${D} must be even (channels pair up as i, i + D/2)`);
  if (!(base > 0) || !Number.isFinite(base))
    throw new Error(`rope: base = ${base} must be a finite number > 0`);
}

/** Rotation angle of pair i (< D/2) at position pos. */
export function ropeAngle(pos: number, i: number, D: number, base: number): number {
  return pos * base ** ((-2 * i) / D);
}

/**
 * cos/sin table [positions, D/2, 2]: entry (pos, i) is (cos, sin) of ropeAngle(pos, i, D, base),
 * rounded to float32. The GPU kernel reads it, because WGSL's sin/cos are only accurate on [−π, π].
 */
export function ropeTable(positions: number, D: number, base = DEFAULT_ROPE_BASE): Float32Array {
  checkRopeShape({ B: 1, T: positions, H: 1, D, base });
  const half = D / 2;
  const table = new Float32Array(positions * half * 2);
  for (let pos = 0; pos < positions; pos++) {
    for (let i = 0; i < half; i++) {
      const a = ropeAngle(pos, i, D, base);
      table[(pos * half + i) * 2] = Math.cos(a);
      table[(pos * half + i) * 2 + 1] = Math.sin(a);
    }
  }
  return table;
}

function rotate<A extends FloatArray>(
  x: ArrayLike<number>,
  shape: RopeShape,
  direction: 1 | -1,
  ArrayType: FloatArrayType<A>,
): A {
  checkRopeShape(shape);
  const { B, T, H, D, offset = 0, base = DEFAULT_ROPE_BASE } = shape;
  const C = H * D;
  const half = D / 2;
  if (x.length < B * T * C) throw new Error(`rope: input has ${x.length} elements, needs ${B * T * C}`);
  const y = new ArrayType(B * T * C);
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = ropeAngle(t + offset, i, D, base);
      cos[i] = Math.cos(a);
      sin[i] = direction * Math.sin(a);
    }
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const at = (b * T + t) * C + h * D;
        for (let i = 0; i < half; i++) {
          const x1 = x[at + i];
          const x2 = x[at + i + half];
          y[at + i] = x1 * cos[i] - x2 * sin[i];
          y[at + i + half] = x2 * cos[i] + x1 * sin[i];
        }
      }
    }
  }
  return y;
}

/** y = RoPE(x), [B, T, C]. */
export function ropeForwardReference<A extends FloatArray = Float32Array>(
  x: ArrayLike<number>,
  shape: RopeShape,
  ArrayType: FloatArrayType<A> = Float32Array as unknown as FloatArrayType<A>,
): A {
  return rotate(x, shape, 1, ArrayType);
}

/** dx from dy: the inverse rotation, [B, T, C]. */
export function ropeBackwardReference<A extends FloatArray = Float32Array>(
  dy: ArrayLike<number>,
  shape: RopeShape,
  ArrayType: FloatArrayType<A> = Float32Array as unknown as FloatArrayType<A>,
): A {
  return rotate(dy, shape, -1, ArrayType);
}

/**
 * The twin of the kernel's segments (ops/rope.ts RopeSegments): `count` [B, T, C] tensors
 * strideIn / strideOut elements apart; the first `rotated` are rotated (inverse with
 * direction −1), the others copied. Writes into `out`; the gaps stay as they are.
 */
export function ropeSegmentsReference(
  x: Float32Array,
  out: Float32Array,
  shape: RopeShape,
  segments: { count: number; rotated: number; strideIn: number; strideOut: number },
  direction: 1 | -1,
): void {
  const n = shape.B * shape.T * shape.H * shape.D;
  for (let s = 0; s < segments.count; s++) {
    const part = x.subarray(s * segments.strideIn, s * segments.strideIn + n);
    out.set(
      s < segments.rotated ? rotate(part, shape, direction, Float32Array) : part,
      s * segments.strideOut,
    );
  }
}
