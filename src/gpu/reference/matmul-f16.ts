// CPU twin of shaders/matmul-f16.wgsl: the f32 product of the inputs rounded to f16 (the
// kernel rounds op(A) and op(B) to f16 as it stages them, then multiplies and sums in f32).

import { type MatmulShape, matmulReference } from './matmul.ts';

const F16_MAX = 65504;
const F16_MIN_NORMAL = 2 ** -14;
const F16_SUBNORMAL_STEP = 2 ** -24;

/**
 * x rounded to the nearest f16 value, ties to even (IEEE binary16: 10 fraction bits, exponents
 * −14…15, subnormals in steps of 2⁻²⁴); ±Infinity past the largest finite value.
 * WGSL lets an implementation round an unrepresentable value either way, so a kernel may
 * differ from this by one f16 step.
 */
export function roundToF16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let step = F16_SUBNORMAL_STEP;
  if (a >= F16_MIN_NORMAL) {
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e--;
    else if (2 ** (e + 1) <= a) e++;
    step = 2 ** (e - 10);
  }
  const units = a / step; // exact: step is a power of two
  const floor = Math.floor(units);
  const rest = units - floor;
  const rounded = rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  const value = rounded * step;
  // Halfway between 65504 and the next step (65536) and beyond rounds to infinity.
  if (value > F16_MAX) return x > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return x > 0 ? value : -value;
}

export function roundArrayToF16(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = roundToF16(values[i]);
  return out;
}

/** matmulReference on the f16-rounded inputs. */
export function matmulF16Reference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: MatmulShape,
  accumulateInto?: Float32Array,
): Float32Array {
  return matmulReference(roundArrayToF16(a), roundArrayToF16(b), shape, accumulateInto);
}
