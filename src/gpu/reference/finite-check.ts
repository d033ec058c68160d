// CPU twin of shaders/finite-check.wgsl: how many elements are NaN or ±∞.

export function countNonFinite(x: Float32Array, n = x.length): number {
  let bad = 0;
  for (let i = 0; i < n; i++) if (!Number.isFinite(x[i])) bad++;
  return bad;
}
