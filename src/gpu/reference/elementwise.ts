// CPU twin of shaders/elementwise.wgsl: the glue between ops (residual adds, gradient
// accumulation, scaling, fills). All arrays are flat; lengths must match.

import { allocLike, type FloatArray, needLength } from './float-array.ts';

/** out = a + b (the residual add). */
export function addReference<F extends FloatArray>(a: F, b: ArrayLike<number>): F {
  needLength(b, a.length, 'add b');
  const out = allocLike(a, a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** y += alpha · x, in place (residual add into the stream, gradient accumulation). */
export function axpyReference(y: FloatArray, x: ArrayLike<number>, alpha = 1): void {
  needLength(x, y.length, 'axpy x');
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
}
