// The CPU twins work on either precision: the CPU backend runs them on Float32Array,
// gradient checks run them on Float64Array so finite differences are not drowned in
// f32 rounding. Outputs take the precision of the op's main input.

export type FloatArray = Float32Array | Float64Array;

/** A zero-filled array of `n` elements of the same precision as `like`. */
export function allocLike<F extends FloatArray>(like: F, n: number): F {
  return (like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)) as F;
}

/** Throws a RangeError unless `array` holds at least `n` elements. */
export function needLength(array: ArrayLike<number>, n: number, what: string): void {
  if (array.length < n) throw new RangeError(`${what}: has ${array.length} elements, needs ${n}`);
}
