// CPU twin of shaders/swiglu.wgsl: the SwiGLU gate of the MLP, elementwise.
//
//   out = silu(a) ⊙ b,   silu(a) = a · σ(a)
//   da = dout ⊙ b ⊙ σ(a) · (1 + a · (1 − σ(a))),   db = dout ⊙ silu(a)
//
// In the model a = x·W1ᵀ and b = x·W3ᵀ, both [N, H] row-major (any equal lengths work).

import { allocLike, type FloatArray, needLength } from './float-array.ts';

/** σ(a) without overflow for either sign. */
export function sigmoid(a: number): number {
  if (a >= 0) return 1 / (1 + Math.exp(-a));
  const e = Math.exp(a);
  return e / (1 + e);
}

export function swigluForward<F extends FloatArray>(a: F, b: ArrayLike<number>): F {
  needLength(b, a.length, 'swigluForward b');
  const out = allocLike(a, a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * sigmoid(a[i]) * b[i];
  return out;
}

export function swigluBackward<F extends FloatArray>(
  a: F,
  b: ArrayLike<number>,
  dout: ArrayLike<number>,
): { da: F; db: F } {
  needLength(b, a.length, 'swigluBackward b');
  needLength(dout, a.length, 'swigluBackward dout');
  const da = allocLike(a, a.length);
  const db = allocLike(a, a.length);
  for (let i = 0; i < a.length; i++) {
    const s = sigmoid(a[i]);
    da[i] = dout[i] * b[i] * s * (1 + a[i] * (1 - s));
    db[i] = dout[i] * a[i] * s;
  }
  return { da, db };
}
