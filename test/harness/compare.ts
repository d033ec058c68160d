// Element-wise comparison with a failure message that says how far apart two arrays are.

export interface Tolerance {
  /** Absolute tolerance. */
  atol: number;
  /** Relative tolerance, against |expected|. */
  rtol: number;
}

export interface Comparison {
  ok: boolean;
  maxAbsError: number;
  maxRelError: number;
  worstIndex: number;
  mismatches: number;
}

export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): Comparison {
  let maxAbsError = 0;
  let maxRelError = 0;
  let worstIndex = -1;
  let worstExcess = -Infinity;
  let mismatches = 0;
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === undefined || e === undefined) {
      mismatches++;
      continue;
    }
    if (Number.isNaN(a) !== Number.isNaN(e)) {
      mismatches++;
      worstIndex = i;
      worstExcess = Infinity;
      continue;
    }
    if (Number.isNaN(a)) continue;
    const abs = Math.abs(a - e);
    const rel = abs / Math.max(Math.abs(e), 1e-30);
    if (abs > maxAbsError) maxAbsError = abs;
    if (rel > maxRelError && Math.abs(e) > tol.atol) maxRelError = rel;
    const excess = abs - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > 0) mismatches++;
    if (excess > worstExcess) {
      worstExcess = excess;
      worstIndex = i;
    }
  }
  return {
    ok: mismatches === 0 && actual.length === expected.length,
    maxAbsError,
    maxRelError,
    worstIndex,
    mismatches,
  };
}

/** Throws (failing the test) unless |actual − expected| ≤ atol + rtol·|expected| everywhere. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  what = 'values',
): Comparison {
  const c = compareArrays(actual, expected, tol);
  if (!c.ok) {
    const i = c.worstIndex;
    throw new Error(
      `${what}: ${c.mismatches} of ${expected.length} elements out of tolerance (atol ${tol.atol}, rtol ${tol.rtol}); ` +
        `lengths ${actual.length} vs ${expected.length}; max abs error ${c.maxAbsError.toExponential(3)}, ` +
        `max rel error ${c.maxRelError.toExponential(3)}; worst at [${i}]: got ${actual[i]}, expected ${expected[i]}`,
    );
  }
  return c;
}
